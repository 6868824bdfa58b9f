"""The broker: committed events only, per organization, bounded queues, reconnect with catch-up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from tortoise.transactions import in_transaction

from core import database
from db import events
from db.enums import Channel, Direction
from db.events import Event, EventKind
from db.models import Interaction
from services.live.pubsub import Broker, SubscriberTooSlow, Subscription
from tests.factories import make_customer, make_interaction, make_org, make_user

TIMEOUT = 15


def everything(event: Event) -> bool:
    return True


async def next_event(subscription: Subscription) -> Event:
    return await asyncio.wait_for(anext(subscription), TIMEOUT)


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` until it holds (fails after TIMEOUT seconds)."""
    async with asyncio.timeout(TIMEOUT):
        while not condition():  # noqa: ASYNC110 (the state belongs to the broker's tasks)
            await asyncio.sleep(0.01)


def connector(
    db: str, gate: asyncio.Event | None = None
) -> Callable[[], Awaitable[asyncpg.Connection]]:
    params = database.connection_params(db)

    async def connect() -> asyncpg.Connection:
        if gate is not None:
            await gate.wait()
        return await asyncpg.connect(**params, server_settings={"application_name": "crm-test-l"})

    return connect


@pytest.fixture
async def broker(db: str) -> AsyncIterator[Broker]:
    broker = Broker(connector(db), queue_size=50)
    await broker.start()
    yield broker
    await broker.stop()


async def test_committed_insert_is_delivered_with_row_and_owner(broker: Broker) -> None:
    org = await make_org()
    owner = await make_user(org)
    customer = await make_customer(org, owner=owner)
    subscription = broker.subscribe(org.id, everything)
    interaction = await make_interaction(customer, channel=Channel.EMAIL, subject="Hi")
    event = await next_event(subscription)
    assert event.created
    assert event.kinds == {EventKind.CREATED}
    assert event.org_id == org.id
    assert event.owner_id == owner.id
    assert event.row["id"] == interaction.id
    assert event.row["subject"] == "Hi"
    assert event.row["channel"] == "EMAIL"


async def test_rolled_back_write_publishes_nothing(broker: Broker) -> None:
    org = await make_org()
    customer = await make_customer(org)
    subscription = broker.subscribe(org.id, everything)

    async def write_then_fail() -> None:
        async with in_transaction() as conn:
            await Interaction.create(
                using_db=conn, organization_id=org.id, customer=customer, channel=Channel.NOTE,
                direction=Direction.INBOUND, occurred_at=customer.created_at,
            )
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await write_then_fail()
    marker = await make_interaction(customer)
    assert (await next_event(subscription)).row["id"] == marker.id


async def test_other_organizations_events_are_not_offered(broker: Broker) -> None:
    mine, theirs = await make_org(), await make_org()
    subscription = broker.subscribe(mine.id, everything)
    await make_interaction(await make_customer(theirs))
    marker = await make_interaction(await make_customer(mine))
    assert (await next_event(subscription)).row["id"] == marker.id


async def test_updates_and_the_publish_hook_are_events(broker: Broker) -> None:
    org = await make_org()
    customer = await make_customer(org)
    interaction = await make_interaction(customer, subject="Before")
    subscription = broker.subscribe(org.id, lambda event: not event.created)
    await Interaction.filter(id=interaction.id).update(subject="Before")  # no change, no event
    await Interaction.filter(id=interaction.id).update(subject="After")
    event = await next_event(subscription)
    assert event.kinds == {EventKind.UPDATED}
    assert event.row["subject"] == "After"
    async with in_transaction() as conn:
        await events.publish(
            kind=EventKind.EMAIL_STATUS, interaction_ids=[interaction.id], using=conn
        )
    assert (await next_event(subscription)).kinds == {EventKind.EMAIL_STATUS}


async def test_created_then_updated_in_one_transaction_is_one_created_event(
    broker: Broker,
) -> None:
    org = await make_org()
    customer = await make_customer(org)
    subscription = broker.subscribe(org.id, everything)
    async with in_transaction() as conn:
        created = await Interaction.create(
            using_db=conn, organization_id=org.id, customer=customer, channel=Channel.EMAIL,
            direction=Direction.OUTBOUND, occurred_at=customer.created_at, subject="Draft",
        )
        await Interaction.filter(id=created.id).using_db(conn).update(subject="Sent")
    event = await next_event(subscription)
    assert event.kinds == {EventKind.CREATED, EventKind.UPDATED}
    assert event.created
    assert event.row["subject"] == "Sent"
    marker = await make_interaction(customer)
    assert (await next_event(subscription)).row["id"] == marker.id


async def test_suppressed_writes_publish_nothing(broker: Broker) -> None:
    org = await make_org()
    customer = await make_customer(org)
    subscription = broker.subscribe(org.id, everything)
    async with in_transaction() as conn:
        await conn.execute_script("SET LOCAL crm.publish_events = 'off'")
        await Interaction.create(
            using_db=conn, organization_id=org.id, customer=customer, channel=Channel.NOTE,
            direction=Direction.INBOUND, occurred_at=customer.created_at,
        )
    marker = await make_interaction(customer)
    assert (await next_event(subscription)).row["id"] == marker.id


async def test_malformed_notifications_are_ignored(broker: Broker) -> None:
    org = await make_org()
    customer = await make_customer(org)
    subscription = broker.subscribe(org.id, everything)
    async with in_transaction() as conn:
        await conn.execute_script(f"NOTIFY {events.CHANNEL}, 'not json'")
        await conn.execute_script(f"NOTIFY {events.CHANNEL}, '{{\"xid\": \"1\"}}'")
    marker = await make_interaction(customer)
    assert (await next_event(subscription)).row["id"] == marker.id


async def test_slow_subscriber_is_dropped_without_holding_up_others(db: str) -> None:
    broker = Broker(connector(db), queue_size=3)
    await broker.start()
    try:
        org = await make_org()
        customer = await make_customer(org)
        slow = broker.subscribe(org.id, everything)
        fast = broker.subscribe(org.id, everything)
        received = []
        for _ in range(5):
            interaction = await make_interaction(customer)
            received.append((await next_event(fast)).row["id"])
            assert received[-1] == interaction.id
        assert slow.lagging
        assert broker.subscriber_count(org.id) == 1
        with pytest.raises(SubscriberTooSlow):
            await next_event(slow)
    finally:
        await broker.stop()


async def test_large_transactions_are_read_in_pages(broker: Broker) -> None:
    org = await make_org()
    customer = await make_customer(org)
    subscription = broker.subscribe(org.id, everything)
    async with in_transaction() as conn:
        await Interaction.bulk_create([
            Interaction(organization_id=org.id, customer=customer, channel=Channel.SMS,
                        direction=Direction.OUTBOUND, occurred_at=customer.created_at)
            for _ in range(23)
        ], using_db=conn)
    first = await next_event(subscription)
    notice = events.Notice(xid=await _xid_of(first.row["id"]), org_id=org.id)
    paged = [event.row["id"] async for event in events.read([notice], page_size=5)]
    assert len(paged) == 23
    assert paged == sorted(paged)
    rest = [(await next_event(subscription)).row["id"] for _ in range(22)]
    assert [first.row["id"], *rest] == paged


async def _xid_of(interaction_id: int) -> int:
    rows = await events.fetch(
        "SELECT xid FROM interaction_event WHERE interaction_id = $1", [interaction_id]
    )
    return int(rows[0]["xid"])


async def test_reconnect_catches_up_on_what_was_committed_meanwhile(db: str) -> None:
    gate = asyncio.Event()
    gate.set()
    broker = Broker(connector(db, gate), queue_size=50)
    await broker.start()
    admin = await asyncpg.connect(**database.connection_params(db))
    try:
        org = await make_org()
        customer = await make_customer(org)
        subscription = broker.subscribe(org.id, everything)
        before = await make_interaction(customer)
        assert (await next_event(subscription)).row["id"] == before.id
        gate.clear()
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", broker.backend_pid)
        await until(lambda: not broker.connected.is_set())
        meanwhile = [(await make_interaction(customer)).id for _ in range(3)]
        gate.set()
        await until(lambda: broker.reconnects == 1)
        after = await make_interaction(customer)
        got = [(await next_event(subscription)).row["id"] for _ in range(4)]
        assert got == [*meanwhile, after.id]
        marker = await make_interaction(customer)
        assert (await next_event(subscription)).row["id"] == marker.id
    finally:
        await admin.close()
        await broker.stop()


async def test_ticks_advance_the_horizon_without_losing_events(db: str) -> None:
    broker = Broker(connector(db), queue_size=50, tick_seconds=0.02)
    await broker.start()
    try:
        org = await make_org()
        customer = await make_customer(org)
        subscription = broker.subscribe(org.id, everything)
        start = broker.horizon
        for _ in range(5):
            interaction = await make_interaction(customer)
            assert (await next_event(subscription)).row["id"] == interaction.id
        await until(lambda: broker.horizon > start)
    finally:
        await broker.stop()


async def test_stop_ends_subscriptions_and_closes_the_listener(db: str) -> None:
    broker = Broker(connector(db), queue_size=50)
    await broker.start()
    pid = broker.backend_pid
    subscription = broker.subscribe((await make_org()).id, everything)
    await broker.stop()
    with pytest.raises(StopAsyncIteration):
        await next_event(subscription)
    admin = await asyncpg.connect(**database.connection_params(db))
    try:
        async with asyncio.timeout(TIMEOUT):
            while await admin.fetchval(  # noqa: ASYNC110 (polling the server)
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
            ):
                await asyncio.sleep(0.01)
    finally:
        await admin.close()
