"""The event log: written by triggers in the writing transaction, for every write path."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from tortoise.transactions import in_transaction

from db import email as emails
from db.email_enums import EmailStatus
from db.prediction import ScoreRows, write_predictions
from db.sql import fetch
from schema.node import to_global_id
from tests.factories import gid, make_customer, make_interaction, make_order, make_org
from tests.webhook_receiver import deliveries_of, logged, make_webhook


def _changes(event: dict) -> dict:  # type: ignore[type-arg]
    return event["data"]["changes"]  # type: ignore[no-any-return]


async def test_no_webhook_no_events() -> None:
    org = await make_org()
    customer = await make_customer(org)
    await make_order(customer)
    assert await logged(org.id) == []


async def test_customer_created_updated_deleted_with_before_and_after() -> None:
    org = await make_org()
    await make_webhook(org.id)
    customer = await make_customer(org, name="Ada", email="ada@example.com")
    await fetch("UPDATE customer SET name = 'Ada L', updated_at = now() WHERE id = $1",
                [customer.id])
    await fetch("UPDATE customer SET updated_at = now() WHERE id = $1", [customer.id])  # noise
    await fetch("UPDATE customer SET deleted_at = now() WHERE id = $1", [customer.id])
    created, updated, deleted = await logged(org.id)
    assert [e["type"] for e in (created, updated, deleted)] == [
        "customer.created", "customer.updated", "customer.deleted"]
    assert created["data"]["after"]["name"] == "Ada"
    assert created["data"]["after"]["id"] == gid(customer)
    assert created["object_id"] == gid(customer)
    assert created["object_type"] == "Customer"
    assert _changes(updated) == {"name": {"before": "Ada", "after": "Ada L"}}
    assert deleted["data"]["before"]["email"] == "ada@example.com"
    assert deleted["data"]["before"]["deletedAt"] is None
    assert [e["sequence"] for e in (created, updated, deleted)] == [1, 2, 3]
    assert {e["actor"] for e in (created, updated, deleted)} == {"system"}


async def test_merge_update_is_one_merged_event_per_primary() -> None:
    org = await make_org()
    await make_webhook(org.id)
    primary = await make_customer(org)
    other_primary = await make_customer(org)
    dupes = [await make_customer(org) for _ in range(3)]
    await fetch(
        "UPDATE customer SET merged_into_id = CASE WHEN id = $3 THEN $2::bigint ELSE $1 END,"
        " deleted_at = now() WHERE id = ANY($4::bigint[])",
        [primary.id, other_primary.id, dupes[2].id, [d.id for d in dupes]],
    )
    events = [e for e in await logged(org.id) if e["type"] != "customer.created"]
    assert [e["type"] for e in events] == ["customer.merged", "customer.merged"]
    by_primary = {e["data"]["customer"]: e["data"]["absorbedIds"] for e in events}
    assert by_primary == {gid(primary): [gid(dupes[0]), gid(dupes[1])],
                          gid(other_primary): [gid(dupes[2])]}
    assert {e["object_id"] for e in events} == {gid(primary), gid(other_primary)}


async def test_order_created_and_status_change() -> None:
    org = await make_org()
    await make_webhook(org.id)
    customer = await make_customer(org)
    order = await make_order(customer, status="PENDING")
    await fetch("UPDATE customer_order SET status = 'PAID', updated_at = now() WHERE id = $1",
                [order.id])
    events = [e for e in await logged(org.id) if e["type"].startswith("order.")]
    assert [e["type"] for e in events] == ["order.created", "order.updated"]
    assert events[0]["data"]["after"]["customerId"] == gid(customer)
    assert _changes(events[1]) == {"status": {"before": "PENDING", "after": "PAID"}}
    assert events[1]["customer_id"] == customer.id


async def test_interaction_created_and_email_status_changed() -> None:
    from tests.factories import make_email_message

    org = await make_org()
    await make_webhook(org.id)
    customer = await make_customer(org)
    interaction = await make_interaction(customer, channel="EMAIL", direction="OUTBOUND")
    message = await make_email_message(interaction)
    await emails.set_status(message.id, EmailStatus.SENT, error=None)
    events = await logged(org.id)
    created = next(e for e in events if e["type"] == "interaction.created")
    assert created["data"]["after"]["id"] == gid(interaction)
    (status,) = [e for e in events if e["type"] == "email.status_changed"]
    assert _changes(status) == {"status": {"before": "QUEUED", "after": "SENT"}}
    assert status["data"]["interactionId"] == gid(interaction)


def _scores(customer_ids: list[int], churn: list[float | None]) -> ScoreRows:
    n = len(customer_ids)
    return ScoreRows(customer_ids, churn, [None] * n, [None] * n, [None] * n, [[]] * n)


async def test_prediction_band_crossings_only() -> None:
    org = await make_org()
    await make_webhook(org.id)
    a, b = await make_customer(org), await make_customer(org)

    async def score(churn: list[float | None], replace_all: bool = False) -> None:
        async with in_transaction() as conn:
            await write_predictions(
                _scores([a.id, b.id], churn), org_id=org.id, model_version="t",
                as_of=datetime.now(UTC), horizon_days=90, replace_all=replace_all, using=conn,
            )

    await score([0.1, 0.5])  # first scores: LOW and MEDIUM
    await score([0.2, 0.55])  # same bands: nothing
    await score([0.65, 0.3], replace_all=True)  # deleted and inserted: a crosses to HIGH
    await score([0.65, 0.29])  # b: MEDIUM -> LOW
    events = [e for e in await logged(org.id) if e["type"] == "prediction.changed"]
    bands = [(e["customer_id"], _changes(e)["churnRiskBand"]) for e in events]
    assert bands == [
        (a.id, {"before": None, "after": "LOW"}), (b.id, {"before": None, "after": "MEDIUM"}),
        (a.id, {"before": "LOW", "after": "HIGH"}), (b.id, {"before": "MEDIUM", "after": "LOW"}),
    ]


async def test_rolled_back_writes_log_nothing_and_leave_no_gap() -> None:
    org = await make_org()
    await make_webhook(org.id)
    await make_customer(org)

    async def change_then_fail() -> None:
        async with in_transaction() as conn:
            await fetch("UPDATE customer SET name = 'rolled back' WHERE organization_id = $1",
                        [org.id], conn)
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        await change_then_fail()
    await make_customer(org)
    events = await logged(org.id)
    assert [e["type"] for e in events] == ["customer.created", "customer.created"]
    assert [e["sequence"] for e in events] == [1, 2]


async def test_seeding_with_events_off_logs_nothing() -> None:
    org = await make_org()
    await make_webhook(org.id)
    async with in_transaction() as conn:
        await conn.execute_query("SET LOCAL crm.publish_events = 'off'")
        await make_customer(org, using_db=conn)
    assert await logged(org.id) == []


async def test_fan_out_to_subscribed_enabled_webhooks_only() -> None:
    org = await make_org()
    orders_only = await make_webhook(org.id, types=("order.created",))
    everything = await make_webhook(org.id)
    disabled = await make_webhook(org.id)
    await fetch("UPDATE webhook SET enabled = false WHERE id = $1", [disabled])
    customer = await make_customer(org)
    await make_order(customer)
    assert [d["type"] for d in await deliveries_of(orders_only)] == ["order.created"]
    assert [d["type"] for d in await deliveries_of(everything)] == [
        "customer.created", "order.created"]
    assert await deliveries_of(disabled) == []


async def test_sequences_are_per_organization_and_gapless_under_concurrency() -> None:
    import asyncio

    orgs = [await make_org(), await make_org()]
    for org in orgs:
        await make_webhook(org.id)
    await asyncio.gather(*(make_customer(org) for org in orgs for _ in range(20)))
    for org in orgs:
        assert [e["sequence"] for e in await logged(org.id)] == list(range(1, 21))


async def test_erasure_scrubs_logged_events() -> None:
    from db import privacy

    org = await make_org()
    await make_webhook(org.id)
    customer = await make_customer(org, name="Secret Person", email="secret@example.com")
    await make_interaction(customer, body="secret body")
    await privacy.erase(org_id=org.id, customer_id=customer.id)
    events = await logged(org.id)
    assert events
    assert "secret" not in repr([e["data"] for e in events]).lower()


async def test_event_ids_are_the_api_global_ids() -> None:
    org = await make_org()
    await make_webhook(org.id)
    customer = await make_customer(org)
    (event,) = await logged(org.id)
    assert event["object_id"] == str(to_global_id("Customer", customer.id))


async def test_events_are_numbered_in_commit_order_without_holding_other_writers(
    database_url: str,
) -> None:
    import asyncio

    import asyncpg

    from core.database import connection_params

    org = await make_org()
    await make_webhook(org.id)
    first, second = await make_customer(org, name="First"), await make_customer(org, name="Second")
    slow = await asyncpg.connect(**connection_params(database_url))
    quick = await asyncpg.connect(**connection_params(database_url))
    try:
        slow_tx = slow.transaction()
        await slow_tx.start()
        await slow.execute("UPDATE customer SET name = 'slow' WHERE id = $1", first.id)
        # another writer of the organization changes another customer and commits meanwhile
        await asyncio.wait_for(
            quick.execute("UPDATE customer SET name = 'quick' WHERE id = $1", second.id), 5)
        await slow_tx.commit()
    finally:
        await slow.close()
        await quick.close()
    events = await logged(org.id)
    assert [(e["sequence"], _changes(e)["name"]["after"]) for e in events[2:]] == [
        (3, "quick"), (4, "slow")]


async def test_crossing_writers_wait_for_each_other_without_deadlock(database_url: str) -> None:
    import asyncio

    import asyncpg

    from core.database import connection_params

    org = await make_org()
    await make_webhook(org.id)
    a, b = await make_customer(org, name="A"), await make_customer(org, name="B")
    one = await asyncpg.connect(**connection_params(database_url))
    two = await asyncpg.connect(**connection_params(database_url))
    try:
        tx_one, tx_two = one.transaction(), two.transaction()
        await tx_one.start()
        await tx_two.start()
        await one.execute("UPDATE customer SET name = 'A1' WHERE id = $1", a.id)
        await two.execute("UPDATE customer SET name = 'B2' WHERE id = $1", b.id)
        # one now needs two's row: it waits for two's commit (which needs no lock of one's)
        crossing = asyncio.create_task(
            one.execute("UPDATE customer SET name = 'B1' WHERE id = $1", b.id))
        await asyncio.sleep(0.2)
        assert not crossing.done()
        await asyncio.wait_for(tx_two.commit(), 5)
        await asyncio.wait_for(crossing, 5)
        await tx_one.commit()
    finally:
        await one.close()
        await two.close()
    events = await logged(org.id)
    assert [(e["sequence"], _changes(e)["name"]["after"]) for e in events[2:]] == [
        (3, "B2"), (4, "A1"), (5, "B1")]


async def test_product_created_and_updated_with_their_changes() -> None:
    from db import product as products

    org = await make_org()
    await make_webhook(org.id)
    row = await products.create(org_id=org.id, data={
        "sku": "ROOM-1", "name": "Garden room", "price": Decimal(90), "currency": "EUR"})
    await products.update(org_id=org.id, product_id=row["id"], data={"price": Decimal(95)})
    await products.update(org_id=org.id, product_id=row["id"], data={"price": Decimal(95)})
    created, updated = await logged(org.id)
    assert (created["type"], created["object_type"]) == ("product.created", "Product")
    assert created["object_id"] == to_global_id("Product", row["id"])
    assert created["data"]["after"]["price"] == {"amount": "90", "currency": "EUR"}
    assert updated["type"] == "product.updated"
    assert _changes(updated) == {"price": {"before": {"amount": "90", "currency": "EUR"},
                                           "after": {"amount": "95", "currency": "EUR"}}}
