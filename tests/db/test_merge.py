"""Customer merge in the database: the policy, what moves, validation, locking."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from tortoise.transactions import in_transaction

from core import database
from core.errors import ErrorCode, InputError
from db import merge as merges
from db.email_enums import SuppressionReason
from db.email_models import EmailMessage, EmailSuppression
from db.enums import Channel, Direction, LifecycleStage
from db.models import Customer, Interaction, Order
from db.prediction_models import Prediction
from db.sql import fetch
from tests.factories import (
    make_customer,
    make_email_message,
    make_interaction,
    make_order,
    make_org,
    make_user,
)

NOW = datetime.now(UTC)


async def _age(customer: Customer, days: int) -> None:
    """Make ``customer`` last updated ``days`` ago (merge precedence follows updated_at)."""
    await fetch("UPDATE customer SET updated_at = $2 WHERE id = $1",
                [customer.id, NOW - timedelta(days=days)])


async def _predict(customer: Customer) -> None:
    await Prediction.create(organization_id=customer.organization_id, customer=customer,
                            churn_risk=0.5, reasons=[], model_version="v1", as_of=NOW,
                            horizon_days=90, scored_at=NOW)


async def snapshot(org_id: int) -> list[Any]:
    """Every row a merge could touch in the organization, in a comparable form."""
    tables = ("customer", "interaction", "customer_order", "email_message", "email_suppression",
              "prediction")
    return [await fetch(f"SELECT * FROM {table} WHERE organization_id = $1 ORDER BY id",
                        [org_id]) for table in tables]


async def test_plan_follows_the_policy(org) -> None:  # type: ignore[no-untyped-def]
    owner = await make_user(org)
    primary = await make_customer(org, name="Jane Doe", email="jane@example.com",
                                  stage=LifecycleStage.PROSPECT, tags=["vip"],
                                  custom_fields={"tier": "gold", "a": 1})
    older = await make_customer(org, name="J. Doe", phone="+4915112345678", company="Old Co",
                                city="Bonn", stage=LifecycleStage.CUSTOMER, tags=["VIP", "b2b"],
                                custom_fields={"tier": "silver", "b": 2, "c": "old"})
    newer = await make_customer(org, name="Jane D.", company="New Co", street="Main St 1",
                                city="Berlin", postal_code="10115", country="DE",
                                owner=owner, email_opt_out=True, custom_fields={"c": "new"})
    await _age(older, 10)
    await _age(newer, 1)

    plan = await merges.plan(org_id=org.id, primary_id=primary.id,
                             duplicate_ids=[older.id, newer.id], overrides={})

    merged = plan.merged
    assert (merged["name"], merged["email"]) == ("Jane Doe", "jane@example.com")  # primary's
    assert merged["phone"] == "+4915112345678"  # only one has it
    assert merged["company"] == "New Co"  # the most recently updated duplicate first
    # the address comes whole from one record, never Bonn's city with Berlin's street
    assert [merged[k] for k in merges.ADDRESS] == ["Main St 1", "Berlin", None, "10115", "DE"]
    assert merged["stage"] == "CUSTOMER"
    assert merged["tags"] == ["vip", "b2b"]
    assert merged["custom_fields"] == {"tier": "gold", "a": 1, "b": 2, "c": "new"}
    assert merged["email_opt_out"] is True
    assert merged["owner_id"] == owner.id
    rules = {c.field: (c.rule, c.chosen_id) for c in plan.conflicts}
    assert rules["name"] == ("PRIMARY", primary.id)
    assert rules["company"] == ("FILLED_FROM_DUPLICATE", newer.id)
    assert rules["address"] == ("FILLED_FROM_DUPLICATE", newer.id)
    assert rules["stage"] == ("MOST_ADVANCED", older.id)
    assert rules["email_opt_out"] == ("CONSENT_KEPT", newer.id)
    assert rules["custom_fields"] == ("PRIMARY_KEYS_WIN", primary.id)
    assert "phone" not in rules  # one value is no conflict


async def test_overrides_pick_a_named_customers_value(org) -> None:  # type: ignore[no-untyped-def]
    primary = await make_customer(org, name="Jane Doe", stage=LifecycleStage.CUSTOMER)
    other = await make_customer(org, name="Jane Doe-Smith", stage=LifecycleStage.LEAD)

    plan = await merges.plan(org_id=org.id, primary_id=primary.id, duplicate_ids=[other.id],
                             overrides={"name": other.id, "stage": other.id})

    assert (plan.merged["name"], plan.merged["stage"]) == ("Jane Doe-Smith", "LEAD")
    assert {c.field: c.rule for c in plan.conflicts}["name"] == "OVERRIDE"


async def test_merge_applies_the_plan_and_moves_everything(org) -> None:  # type: ignore[no-untyped-def]
    primary = await make_customer(org, name="Jane Doe", email_opt_out=False)
    one = await make_customer(org, name="J. Doe", phone="+4915112345678", email_opt_out=True)
    two = await make_customer(org, name="Jane", company="ACME")
    bystander = await make_customer(org, name="Bystander")
    for customer in (primary, one, two, bystander):
        await make_interaction(customer)
        await make_order(customer)
        await _predict(customer)
    mail = await make_interaction(one, channel=Channel.EMAIL, direction=Direction.OUTBOUND)
    await make_email_message(mail)
    await EmailSuppression.create(organization=org, customer=two, email="jane@x.example",
                                  reason=SuppressionReason.UNSUBSCRIBED)

    planned = await merges.plan(org_id=org.id, primary_id=primary.id,
                                duplicate_ids=[one.id, two.id], overrides={})
    async with in_transaction():
        done, row = await merges.merge(org_id=org.id, primary_id=primary.id,
                                       duplicate_ids=[one.id, two.id], overrides={})

    assert done.moves == planned.moves == {
        "interactions": 3, "orders": 2, "email_messages": 1, "email_messages_kept": 0,
        "email_suppressions": 1, "predictions_dropped": 2}
    for name in merges.WRITTEN:
        assert row[name] == planned.merged[name], name
    assert (row["phone"], row["company"], row["email_opt_out"]) == (
        "+4915112345678", "ACME", True)
    assert await Interaction.filter(customer_id=primary.id).count() == 4
    assert await Order.filter(customer_id=primary.id).count() == 3
    assert await EmailMessage.filter(customer_id=primary.id).count() == 1
    assert await EmailSuppression.filter(customer_id=primary.id).count() == 1
    assert await Prediction.filter(customer_id__in=[one.id, two.id]).count() == 0
    assert await Prediction.filter(customer_id=primary.id).count() == 1
    for absorbed in (one, two):
        await absorbed.refresh_from_db()
        assert absorbed.merged_into_id == primary.id
        assert absorbed.deleted_at is not None
    await bystander.refresh_from_db()
    assert (bystander.deleted_at, await Interaction.filter(customer_id=bystander.id).count()) == (
        None, 1)


async def test_the_absorbing_statement_is_one_customer_merged_webhook_event(org) -> None:  # type: ignore[no-untyped-def]
    from db.webhook_models import Webhook

    await Webhook.create(organization=org, url="https://93.184.216.34/h", secret="s" * 40)
    primary, one, two = [await make_customer(org) for _ in range(3)]

    async with in_transaction():
        await merges.merge(org_id=org.id, primary_id=primary.id, duplicate_ids=[one.id, two.id],
                           overrides={})

    events = await fetch("SELECT type, data FROM webhook_event WHERE organization_id = $1"
                         " AND type IN ('customer.merged', 'customer.deleted')", [org.id])
    assert [e["type"] for e in events] == ["customer.merged"]
    assert len(events[0]["data"]["absorbedIds"]) == 2


async def test_unique_email_and_external_ref_move_to_the_primary(org) -> None:  # type: ignore[no-untyped-def]
    primary = await make_customer(org, name="Jane", email=None)
    duplicate = await make_customer(org, name="Jane", email="Jane@Example.com",
                                    external_ref="ERP-7")

    async with in_transaction():
        _, row = await merges.merge(org_id=org.id, primary_id=primary.id,
                                    duplicate_ids=[duplicate.id], overrides={})

    assert (row["email"], row["external_ref"]) == ("Jane@Example.com", "ERP-7")
    await duplicate.refresh_from_db()
    assert (duplicate.email, duplicate.external_ref) == (None, None)


async def test_campaign_messages_stay_when_the_primary_has_one_of_that_campaign(org) -> None:  # type: ignore[no-untyped-def]
    from db.email_models import Campaign, EmailTemplate

    template = await EmailTemplate.create(organization=org, name="t", subject="s", text="x")
    campaign = await Campaign.create(organization=org, template=template, name="c",
                                     status="QUEUED")
    primary = await make_customer(org)
    duplicate = await make_customer(org)
    for customer in (primary, duplicate):
        mail = await make_interaction(customer, channel=Channel.EMAIL,
                                      direction=Direction.OUTBOUND)
        await make_email_message(mail, campaign=campaign)

    async with in_transaction():
        done, _ = await merges.merge(org_id=org.id, primary_id=primary.id,
                                     duplicate_ids=[duplicate.id], overrides={})

    assert (done.moves["email_messages"], done.moves["email_messages_kept"]) == (0, 1)
    assert await EmailMessage.filter(customer_id=duplicate.id).count() == 1


@pytest.mark.parametrize("case", ["empty", "self", "repeated", "too_many", "unknown", "deleted",
                                  "other_org", "bad_override"])
async def test_invalid_merges_write_nothing(org, case: str) -> None:  # type: ignore[no-untyped-def]
    primary = await make_customer(org)
    duplicate = await make_customer(org)
    await make_interaction(duplicate)
    gone = await make_customer(org, deleted_at=NOW)
    stranger = await make_customer(await make_org())
    ids, overrides = {
        "empty": ([], {}), "self": ([primary.id], {}),
        "repeated": ([duplicate.id, duplicate.id], {}),
        "too_many": ([duplicate.id + i for i in range(1, merges.MAX_DUPLICATES + 2)], {}),
        "unknown": ([duplicate.id, 2**62], {}), "deleted": ([duplicate.id, gone.id], {}),
        "other_org": ([duplicate.id, stranger.id], {}),
        "bad_override": ([duplicate.id], {"name": gone.id}),
    }[case]
    before = await snapshot(org.id)

    with pytest.raises(InputError) as raised:
        async with in_transaction():
            await merges.merge(org_id=org.id, primary_id=primary.id, duplicate_ids=ids,
                               overrides=overrides)

    expected = ErrorCode.NOT_FOUND if case in {"unknown", "deleted", "other_org"} else (
        ErrorCode.BAD_USER_INPUT)
    assert raised.value.code == expected
    assert (raised.value.field or ())[:1] == ("input",)
    assert await snapshot(org.id) == before


async def test_an_absorbed_customer_cannot_be_merged_again(org) -> None:  # type: ignore[no-untyped-def]
    primary, duplicate, third = [await make_customer(org) for _ in range(3)]
    async with in_transaction():
        await merges.merge(org_id=org.id, primary_id=primary.id, duplicate_ids=[duplicate.id],
                           overrides={})

    with pytest.raises(InputError) as raised:
        await merges.plan(org_id=org.id, primary_id=third.id, duplicate_ids=[duplicate.id],
                          overrides={}, name_of=lambda pk: f"#{pk}")

    assert raised.value.message == f"customer was already merged into #{primary.id}"
    assert raised.value.field == ("duplicateIds", "0")


async def test_merged_into_follows_merges_of_merges(org) -> None:  # type: ignore[no-untyped-def]
    first, second, third = [await make_customer(org) for _ in range(3)]
    for primary, duplicate in ((second, first), (third, second)):
        async with in_transaction():
            await merges.merge(org_id=org.id, primary_id=primary.id,
                               duplicate_ids=[duplicate.id], overrides={})

    assert await merges.merged_into(org_id=org.id, ids=[first.id, third.id]) == {
        first.id: third.id, third.id: third.id}
    assert await merges.merged_into(org_id=(await make_org()).id, ids=[first.id]) == {}


async def test_a_restored_absorbed_customer_is_live_again(org) -> None:  # type: ignore[no-untyped-def]
    primary, duplicate = [await make_customer(org) for _ in range(2)]
    async with in_transaction():
        await merges.merge(org_id=org.id, primary_id=primary.id, duplicate_ids=[duplicate.id],
                           overrides={})
    await fetch("UPDATE customer SET deleted_at = NULL WHERE id = $1", [duplicate.id])

    assert await merges.merged_into(org_id=org.id, ids=[duplicate.id]) == {
        duplicate.id: duplicate.id}
    plan = await merges.plan(org_id=org.id, primary_id=primary.id,
                             duplicate_ids=[duplicate.id], overrides={})
    assert plan.duplicate_ids == [duplicate.id]


async def test_concurrent_overlapping_merges_one_wins_the_other_is_refused(db, org) -> None:  # type: ignore[no-untyped-def]
    left, right, shared = [await make_customer(org) for _ in range(3)]
    await make_interaction(shared)
    blocker = await asyncpg.connect(**database.connection_params(db))
    try:
        # hold the shared duplicate so both merges are waiting for it before either runs
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("SELECT 1 FROM customer WHERE id = $1 FOR UPDATE", shared.id)

        async def merge_into(primary: Customer) -> Any:
            async with in_transaction():
                return await merges.merge(org_id=org.id, primary_id=primary.id,
                                          duplicate_ids=[shared.id], overrides={})

        tasks = [asyncio.create_task(merge_into(p)) for p in (left, right)]
        for _ in range(200):
            waiting = await blocker.fetchval(
                "SELECT count(*) FROM pg_locks WHERE NOT granted"
                " AND locktype IN ('transactionid', 'tuple')")
            if waiting >= 2:
                break
            await asyncio.sleep(0.02)
        assert waiting >= 2, "both merges should be waiting for the shared customer"
        await transaction.rollback()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await blocker.close()

    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert (len(won), len(lost)) == (1, 1)
    assert isinstance(lost[0], InputError)
    assert lost[0].code == ErrorCode.NOT_FOUND
    assert "already merged" in lost[0].message
    winner = won[0][1]["id"]
    await shared.refresh_from_db()
    assert shared.merged_into_id == winner
    assert await Interaction.filter(customer_id=winner).count() == 1
    loser = ({left.id, right.id} - {winner}).pop()
    assert (await Customer.get(id=loser)).deleted_at is None


async def test_every_reference_to_a_customer_is_handled() -> None:
    rows = await fetch(
        "SELECT c.conrelid::regclass::text AS tab, a.attname AS col FROM pg_constraint c"
        " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
        " WHERE c.contype = 'f' AND c.confrelid = 'customer'::regclass ORDER BY 1, 2"
    )
    handled = {(re.search(r"(?:UPDATE|FROM) (\w+)", s)[1], "customer_id")  # type: ignore[index]
               for s in merges.REPOINT} | {
        ("customer", "merged_into_id")}
    assert {(r["tab"], r["col"]) for r in rows} == handled, "a new table points at customers"


async def test_messages_handles_opt_outs_and_read_marks_follow_the_primary(org) -> None:
    from db import channel_contact as contacts
    from db.channel_models import ConversationRead, CustomerHandle
    from db.enums import Channel
    from tests.factories import make_user

    primary, duplicate = await make_customer(org), await make_customer(org)
    user = await make_user(org)
    await contacts.add_handle(org_id=org.id, customer_id=duplicate.id, platform="instagram",
                              handle="@dup")
    await contacts.set_consent(org_id=org.id, customer_id=duplicate.id, channel=Channel.SMS,
                               opted_out=True, source="STOP reply")
    await contacts.set_consent(org_id=org.id, customer_id=primary.id, channel=Channel.SMS,
                               opted_out=False, source="agent")
    for customer in (primary, duplicate):
        await ConversationRead.create(user=user, customer=customer, read_at=datetime.now(UTC))
    await merges.merge(org_id=org.id, primary_id=primary.id, duplicate_ids=[duplicate.id],
                       overrides={})
    assert await contacts.opted_out(customer_id=primary.id, channel=Channel.SMS)
    assert (await CustomerHandle.get(handle="@dup", organization_id=org.id)).customer_id == (
        primary.id)
    assert await ConversationRead.filter(user=user).count() == 1
