"""Subscriptions over real websockets against an in-process uvicorn (both protocols)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import asyncpg
import orjson
import pytest
import uvicorn
from tortoise.transactions import in_transaction
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.main import create_app
from core import database
from db.enums import Channel, Direction, Role
from db.models import Interaction
from resolvers import subscription as subscription_resolvers
from services.live.pubsub import Broker
from tests.factories import gid, make_customer, make_interaction, make_org, make_user, token_for

TIMEOUT = 15
TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
CREATED = (
    "subscription($f: InteractionSubscriptionFilter) { interactionCreated(filter: $f) { id } }"
)


class GraphQLSocket:
    """A GraphQL websocket client (graphql-transport-ws or legacy graphql-ws) for tests."""

    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self._ids = itertools.count(1)
        self._inbox: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @asynccontextmanager
    async def open(
        cls, url: str, token: str | None, protocol: str = TRANSPORT_WS, **params: Any
    ) -> AsyncIterator[GraphQLSocket]:
        """A socket past ``connection_ack``."""
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        async with connect(url, subprotocols=[protocol], open_timeout=TIMEOUT) as ws:
            await ws.send(orjson.dumps(
                {"type": "connection_init", "payload": payload | params}).decode())
            ack = orjson.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            assert ack["type"] == "connection_ack", ack
            socket = cls(ws, protocol)
            try:
                yield socket
            finally:
                socket._reader.cancel()

    async def _read(self) -> None:
        async for raw in self.ws:
            assert isinstance(raw, str), "messages must be text frames"
            message = orjson.loads(raw)
            if "id" in message:
                self._queue(message["id"]).put_nowait(message)

    def _queue(self, op: str) -> asyncio.Queue[dict[str, Any]]:
        return self._inbox.setdefault(op, asyncio.Queue())

    async def subscribe(self, query: str, **variables: Any) -> str:
        """Start an operation; returns its id."""
        op = str(next(self._ids))
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        payload = {"query": query, "variables": variables}
        await self.ws.send(orjson.dumps({"id": op, "type": kind, "payload": payload}).decode())
        return op

    async def stop(self, op: str) -> None:
        """Unsubscribe."""
        kind = "complete" if self.protocol == TRANSPORT_WS else "stop"
        await self.ws.send(orjson.dumps({"id": op, "type": kind}).decode())

    async def message(self, op: str) -> dict[str, Any]:
        """The next message of operation ``op``."""
        return await asyncio.wait_for(self._queue(op).get(), TIMEOUT)

    async def data(self, op: str) -> dict[str, Any]:
        """The data of the next result of ``op``, which must have no errors."""
        message = await self.message(op)
        assert message["type"] in ("next", "data"), message
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def next_id(self, op: str, field: str = "interactionCreated") -> str:
        """The interaction id of the next result of ``op``."""
        return str((await self.data(op))[field]["id"])


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` until it holds (fails after TIMEOUT seconds)."""
    async with asyncio.timeout(TIMEOUT):
        while not condition():  # noqa: ASYNC110 (the state belongs to the server's tasks)
            await asyncio.sleep(0.01)


@dataclass
class Live:
    url: str
    broker: Broker
    app: Any

    async def subscribed(self, org_id: int, count: int = 1) -> None:
        """Wait until ``count`` subscriptions of the organization are registered."""
        await until(lambda: self.broker.subscriber_count(org_id) == count)


@pytest.fixture(scope="module")
async def live(db: str, settings) -> AsyncIterator[Live]:  # type: ignore[no-untyped-def]
    """The app served by uvicorn in this process, with a broker of queue size 20."""
    app = create_app(settings, db)
    params = database.connection_params(db)
    broker = Broker(lambda: asyncpg.connect(**params), queue_size=20)
    await broker.start()
    app.state.pubsub = broker
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="off", log_level="warning",
        ws="websockets-sansio",
    ))
    task = asyncio.create_task(server.serve())
    await until(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Live(f"ws://127.0.0.1:{port}/graphql", broker, app)
    server.should_exit = True
    await task
    await broker.stop()


@pytest.fixture
async def viewer(org, settings) -> str:  # type: ignore[no-untyped-def]
    return token_for(await make_user(org, role=Role.VIEWER), settings)


LOG = """
mutation($input: LogInteractionInput!) {
  logInteraction(input: $input) { interaction { id } errors { code field message } }
}"""
DETAILED = """
subscription { interactionCreated { id subject channel customer { name } createdBy { email } } }
"""


async def test_logged_interaction_streams_with_nested_fields(live, api, org, admin, viewer) -> None:
    customer = await make_customer(org, name="Ada")
    async with GraphQLSocket.open(live.url, viewer) as socket:
        op = await socket.subscribe(DETAILED)
        await live.subscribed(org.id)
        logged = await api.data(LOG, input={
            "customerId": gid(customer), "channel": "PHONE",
            "direction": "INBOUND", "subject": "Hello"})
        data = await socket.data(op)
    assert data["interactionCreated"] == {
        "id": logged["logInteraction"]["interaction"]["id"], "subject": "Hello",
        "channel": "PHONE", "customer": {"name": "Ada"}, "createdBy": {"email": admin.email},
    }


async def test_nested_fields_are_loaded_afresh_for_every_event(live, org, viewer) -> None:
    customer = await make_customer(org, name="Old name")
    query = "subscription { interactionCreated { customer { name } } }"
    async with GraphQLSocket.open(live.url, viewer) as socket:
        op = await socket.subscribe(query)
        await live.subscribed(org.id)
        await make_interaction(customer)
        first = await socket.data(op)
        customer.name = "New name"
        await customer.save()
        await make_interaction(customer)
        second = await socket.data(op)
    assert first["interactionCreated"]["customer"]["name"] == "Old name"
    assert second["interactionCreated"]["customer"]["name"] == "New name"


async def test_filters_select_by_customer_channel_direction_and_owner(live, org, viewer) -> None:
    owner, other_owner = await make_user(org), await make_user(org)
    target = await make_customer(org, owner=owner)
    other = await make_customer(org, owner=other_owner)
    filters = {
        "customer": {"customerId": gid(target)},
        "channels": {"channels": ["EMAIL", "CHAT"]},
        "direction": {"direction": "OUTBOUND"},
        "owner": {"ownerId": gid(owner)},
        "all": {"customerId": gid(target), "channels": ["EMAIL"], "direction": "OUTBOUND",
                "ownerId": gid(owner)},
    }
    async with GraphQLSocket.open(live.url, viewer) as socket:
        ops = {name: await socket.subscribe(CREATED, f=f) for name, f in filters.items()}
        await live.subscribed(org.id, len(ops))
        writes = {
            "other_customer": await make_interaction(
                other, channel=Channel.EMAIL, direction=Direction.OUTBOUND),
            "phone_inbound": await make_interaction(
                target, channel=Channel.PHONE, direction=Direction.INBOUND),
            "chat_inbound": await make_interaction(
                target, channel=Channel.CHAT, direction=Direction.INBOUND),
            "final": await make_interaction(
                target, channel=Channel.EMAIL, direction=Direction.OUTBOUND),
        }
        received = {name: await _until_final(socket, op, gid(writes["final"]))
                    for name, op in ops.items()}
    names = {gid(i): name for name, i in writes.items()}
    assert {k: [names[i] for i in v] for k, v in received.items()} == {
        "customer": ["phone_inbound", "chat_inbound", "final"],
        "channels": ["other_customer", "chat_inbound", "final"],
        "direction": ["other_customer", "final"],
        "owner": ["phone_inbound", "chat_inbound", "final"],
        "all": ["final"],
    }


async def _until_final(socket: GraphQLSocket, op: str, final: str) -> list[str]:
    ids = [await socket.next_id(op)]
    while ids[-1] != final:
        ids.append(await socket.next_id(op))
    return ids


async def test_filter_ids_are_checked_before_streaming(live, org, viewer) -> None:
    theirs = await make_customer(await make_org())
    async with GraphQLSocket.open(live.url, viewer) as socket:
        unknown = await socket.subscribe(CREATED, f={"customerId": gid(theirs)})
        malformed = await socket.subscribe(CREATED, f={"ownerId": "nope"})
        first, second = await socket.message(unknown), await socket.message(malformed)
    assert first["type"] == "error"
    assert first["payload"][0]["extensions"]["code"] == "NOT_FOUND"
    assert second["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert live.broker.subscriber_count(org.id) == 0


async def test_other_organizations_subscribers_get_nothing(live, org, viewer, settings) -> None:
    other = await make_org()
    other_token = token_for(await make_user(other, role=Role.VIEWER), settings)
    async with (
        GraphQLSocket.open(live.url, viewer) as mine,
        GraphQLSocket.open(live.url, other_token) as theirs,
    ):
        my_op, their_op = await mine.subscribe(CREATED), await theirs.subscribe(CREATED)
        await live.subscribed(org.id)
        await live.subscribed(other.id)
        their_write = await make_interaction(await make_customer(other))
        my_write = await make_interaction(await make_customer(org))
        assert await mine.next_id(my_op) == gid(my_write)
        assert await theirs.next_id(their_op) == gid(their_write)
        marker = await make_interaction(await make_customer(other))
        assert await theirs.next_id(their_op) == gid(marker)


async def test_rolled_back_write_publishes_nothing(live, org, viewer) -> None:
    customer = await make_customer(org)
    async with GraphQLSocket.open(live.url, viewer) as socket:
        op = await socket.subscribe(CREATED)
        await live.subscribed(org.id)

        async def write_then_fail() -> None:
            async with in_transaction() as conn:
                await Interaction.create(
                    using_db=conn, organization_id=org.id, customer=customer,
                    channel=Channel.NOTE, direction=Direction.INBOUND,
                    occurred_at=customer.created_at,
                )
                raise RuntimeError("roll back")

        with pytest.raises(RuntimeError):
            await write_then_fail()
        committed = await make_interaction(customer)
        assert await socket.next_id(op) == gid(committed)


async def test_interaction_updated_streams_changes(live, org, viewer) -> None:
    interaction = await make_interaction(await make_customer(org), subject="Draft")
    query = "subscription { interactionUpdated { id subject } }"
    async with GraphQLSocket.open(live.url, viewer) as socket:
        op = await socket.subscribe(query)
        await live.subscribed(org.id)
        await make_interaction(await make_customer(org))  # a creation is not an update
        await Interaction.filter(id=interaction.id).update(subject="Sent")
        data = await socket.data(op)
    assert data["interactionUpdated"] == {"id": gid(interaction), "subject": "Sent"}


@pytest.mark.parametrize("params", [
    {},
    {"Authorization": "Bearer not-a-token"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": 42},
])
async def test_socket_without_valid_token_is_closed_unauthorised(live, params) -> None:
    async with connect(live.url, subprotocols=[TRANSPORT_WS]) as ws:
        await ws.send(orjson.dumps({"type": "connection_init", "payload": params}).decode())
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_token_key_is_case_insensitive_and_header_works(live, org, viewer) -> None:
    async with GraphQLSocket.open(live.url, None, authorization=f"Bearer {viewer}"):
        pass
    async with GraphQLSocket.open(live.url, None, AUTHORIZATION=f"bearer {viewer}"):
        pass
    headers = {"Authorization": f"Bearer {viewer}"}
    async with connect(live.url, subprotocols=[TRANSPORT_WS], additional_headers=headers) as ws:
        await ws.send(orjson.dumps({"type": "connection_init"}).decode())
        assert orjson.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))["type"] == "connection_ack"


async def test_legacy_protocol_streams_and_rejects_like_its_clients_expect(
    live, org, viewer
) -> None:
    customer = await make_customer(org)
    async with GraphQLSocket.open(live.url, viewer, protocol=LEGACY_WS) as socket:
        op = await socket.subscribe(CREATED)
        await live.subscribed(org.id)
        interaction = await make_interaction(customer)
        assert await socket.next_id(op) == gid(interaction)
    async with connect(live.url, subprotocols=[LEGACY_WS]) as ws:
        await ws.send(orjson.dumps({"type": "connection_init", "payload": {}}).decode())
        error = orjson.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert error["type"] == "connection_error"
    assert error["payload"]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_subscriber_that_falls_behind_gets_a_clear_error(live, org, viewer) -> None:
    customer = await make_customer(org)
    async with GraphQLSocket.open(live.url, viewer) as socket:
        op = await socket.subscribe(CREATED)
        await live.subscribed(org.id)
        await Interaction.bulk_create([
            Interaction(organization_id=org.id, customer=customer, channel=Channel.SMS,
                        direction=Direction.OUTBOUND, occurred_at=customer.created_at)
            for _ in range(live.broker.queue_size + 5)
        ])
        message = await socket.message(op)
        assert (await socket.message(op))["type"] == "complete"
    assert message["payload"]["errors"][0]["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"
    assert live.broker.subscriber_count(org.id) == 0


async def test_expired_token_ends_the_stream(live, org, viewer, monkeypatch) -> None:
    customer = await make_customer(org)
    async with GraphQLSocket.open(live.url, viewer) as socket:
        op = await socket.subscribe(CREATED)
        await live.subscribed(org.id)
        monkeypatch.setattr(subscription_resolvers, "time", SimpleNamespace(time=lambda: 4e9))
        await make_interaction(customer)
        message = await socket.message(op)
    assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in message["payload"] or message["payload"]["data"] is None


async def test_unsubscribe_and_disconnect_leave_nothing_behind(live, org, viewer) -> None:
    baseline = asyncio.all_tasks()
    async with GraphQLSocket.open(live.url, viewer) as socket:
        first, second = await socket.subscribe(CREATED), await socket.subscribe(CREATED)
        await live.subscribed(org.id, 2)
        await socket.stop(first)
        await live.subscribed(org.id, 1)
        await make_interaction(await make_customer(org))
        await socket.next_id(second)  # mid-stream
    await live.subscribed(org.id, 0)
    await until(lambda: asyncio.all_tasks() <= baseline | {asyncio.current_task()})


async def test_internal_errors_in_events_are_masked(live, org, viewer, monkeypatch) -> None:
    from db import customer as customers

    async def broken(**kwargs: Any) -> None:
        raise RuntimeError("secret detail")

    customer = await make_customer(org)
    async with GraphQLSocket.open(live.url, viewer) as socket:
        op = await socket.subscribe("subscription { interactionCreated { id customer { name } } }")
        await live.subscribed(org.id)
        monkeypatch.setattr(customers, "get_many", broken)
        interaction = await make_interaction(customer)
        message = await socket.message(op)
    assert message["payload"]["data"]["interactionCreated"]["id"] == gid(interaction)
    (error,) = message["payload"]["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


async def test_email_status_changes_stream(live, org, viewer, settings) -> None:
    from db import email as emails
    from db.email_enums import EmailStatus
    from tests.email_helpers import email_settings, queue_email

    customer = await make_customer(org, email="status@example.com")
    query = "subscription { emailStatusChanged { id email { status attempts } } }"
    async with GraphQLSocket.open(live.url, viewer) as socket:
        op = await socket.subscribe(query)
        await live.subscribed(org.id)
        queued = await queue_email(email_settings(settings), customer)
        first = await socket.data(op)
        await emails.set_status(queued["id"], EmailStatus.FAILED, error="550 no such user")
        second = await socket.data(op)
    interaction_id = first["emailStatusChanged"]["id"]
    assert first["emailStatusChanged"]["email"]["status"] == "QUEUED"
    assert second["emailStatusChanged"] == {
        "id": interaction_id, "email": {"status": "FAILED", "attempts": 0}}
