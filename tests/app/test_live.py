"""Fan-out groups over real websockets: one execution per group and event, the right bytes each."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import orjson

from auth.context import Context
from auth.identity import Viewer
from db.enums import Role
from services.live.fanout import Fanout
from tests.factories import gid, make_customer, make_interaction, make_user, token_for
from tests.resolvers.test_subscription import CREATED, GraphQLSocket
from tests.resolvers.test_subscription import live as live  # the served app, as a fixture
from tests.security_helpers import make_key

EMAILS = "subscription { interactionCreated { id customer { email } } }"


def fanout_of(live: Any) -> Fanout:
    fanout: Fanout = live.app.state.fanout
    return fanout


async def test_fifty_subscribers_of_one_document_cost_one_execution_per_event(
    live, org, settings, monkeypatch
) -> None:
    from db import customer as customers

    loads = []
    real_get_many = customers.get_many

    async def counted(**kwargs: Any) -> Any:
        loads.append(kwargs["ids"])
        return await real_get_many(**kwargs)

    token = token_for(await make_user(org, role=Role.VIEWER), settings)
    customer = await make_customer(org, name="Shared")
    query = "subscription { interactionCreated { id customer { name } } }"
    async with AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(GraphQLSocket.open(live.url, token))
                   for _ in range(10)]
        ops = [(socket, await socket.subscribe(query)) for socket in sockets for _ in range(5)]
        await live.subscribed(org.id, 50)
        assert fanout_of(live).group_count() == 1
        before = fanout_of(live).executions
        monkeypatch.setattr(customers, "get_many", counted)
        written = [await make_interaction(customer) for _ in range(3)]
        received = [[await socket.data(op) for _ in written] for socket, op in ops]
    expected = [{"interactionCreated": {"id": gid(i), "customer": {"name": "Shared"}}}
                for i in written]
    assert all(got == expected for got in received)
    assert fanout_of(live).executions - before == 3
    # one customer query per event, not one per subscriber (and one more where the generic
    # executor verifies the compiled payload)
    assert len(loads) == 3 * (1 + settings.compiled_verify)


async def test_permission_contexts_get_their_own_groups_and_bytes(live, org, settings) -> None:
    customer = await make_customer(org, email="jane@example.com")
    user = token_for(await make_user(org, role=Role.AGENT), settings)
    viewer = token_for(await make_user(org, role=Role.VIEWER), settings)  # reads no PII
    masked_key = await make_key(org.id, ["interactions:read", "customers:read"])
    async with (
        GraphQLSocket.open(live.url, user) as people,
        GraphQLSocket.open(live.url, viewer) as viewers,
        GraphQLSocket.open(live.url, masked_key) as partner,
    ):
        ops = {"user": (people, await people.subscribe(EMAILS)),
               "viewer": (viewers, await viewers.subscribe(EMAILS)),
               "key": (partner, await partner.subscribe(EMAILS))}
        await live.subscribed(org.id, 3)
        assert fanout_of(live).group_count() == 3
        before = fanout_of(live).executions
        interaction = await make_interaction(customer)
        got = {name: await socket.data(op) for name, (socket, op) in ops.items()}
    assert got["user"]["interactionCreated"] == {
        "id": gid(interaction), "customer": {"email": "jane@example.com"}}
    for masked in ("viewer", "key"):
        assert got[masked]["interactionCreated"] == {
            "id": gid(interaction), "customer": {"email": "j***@example.com"}}
    assert fanout_of(live).executions - before == 3


async def test_variables_and_filters_split_groups(live, org, settings) -> None:
    token = token_for(await make_user(org, role=Role.VIEWER), settings)
    mine, other = await make_customer(org), await make_customer(org)
    async with GraphQLSocket.open(live.url, token) as socket:
        everything = await socket.subscribe(CREATED)
        only_mine = await socket.subscribe(CREATED, f={"customerId": gid(mine)})
        same_filter = await socket.subscribe(CREATED, f={"customerId": gid(mine)})
        await live.subscribed(org.id, 3)
        assert fanout_of(live).group_count() == 2
        await make_interaction(other)
        marker = await make_interaction(mine)
        assert await socket.next_id(everything) != gid(marker)
        assert await socket.next_id(everything) == gid(marker)
        assert await socket.next_id(only_mine) == gid(marker)
        assert await socket.next_id(same_filter) == gid(marker)


async def test_errors_are_not_shared_each_member_gets_its_own_request_id(
    live, org, settings, monkeypatch
) -> None:
    from db import customer as customers

    async def broken(**kwargs: Any) -> None:
        raise RuntimeError("secret detail")

    token = token_for(await make_user(org, role=Role.VIEWER), settings)
    customer = await make_customer(org)
    query = "subscription { interactionCreated { id customer { name } } }"
    async with (
        GraphQLSocket.open(live.url, token) as first,
        GraphQLSocket.open(live.url, token) as second,
    ):
        ops = [(first, await first.subscribe(query)), (second, await second.subscribe(query))]
        await live.subscribed(org.id, 2)
        monkeypatch.setattr(customers, "get_many", broken)
        interaction = await make_interaction(customer)
        messages = [await socket.message(op) for socket, op in ops]
    request_ids = set()
    for message in messages:
        assert message["payload"]["data"]["interactionCreated"]["id"] == gid(interaction)
        (error,) = message["payload"]["errors"]
        assert error["message"] == "Internal server error"
        assert "secret" not in str(message)
        request_ids.add(error["extensions"]["requestId"])
    assert len(request_ids) == 2


async def test_members_leaving_empty_their_group(live, org, settings) -> None:
    token = token_for(await make_user(org, role=Role.VIEWER), settings)
    async with GraphQLSocket.open(live.url, token) as socket:
        first, second = await socket.subscribe(CREATED), await socket.subscribe(CREATED)
        await live.subscribed(org.id, 2)
        assert fanout_of(live).group_count() == 1
        await socket.stop(first)
        await socket.stop(second)
        await live.subscribed(org.id, 0)
    async with asyncio.timeout(15):
        while fanout_of(live).group_count():  # noqa: ASYNC110 (the server's tasks leave)
            await asyncio.sleep(0.01)


def test_group_keys_hold_everything_that_changes_the_bytes() -> None:
    from app.live import group_key

    def key(viewer: Viewer, query: str = CREATED, variables: Any = None) -> Any:
        context = Context(request=None, response=None, settings=None,  # type: ignore[arg-type]
                          request_id="r", viewer=viewer)
        return group_key(context, query, None, variables)

    user = Viewer(user_id=1, organization_id=1, role=Role.VIEWER)
    assert key(user) == key(Viewer(user_id=2, organization_id=1, role=Role.VIEWER))
    assert key(user, variables={"a": 1, "b": 2}) == key(user, variables={"b": 2, "a": 1})
    different = [
        key(Viewer(user_id=1, organization_id=2, role=Role.VIEWER)),
        key(Viewer(user_id=1, organization_id=1, role=Role.ADMIN)),
        key(Viewer(user_id=None, organization_id=1, role=Role.VIEWER, api_key_id=1,
                    key_scopes=frozenset({"interactions:read", "pii:read"}))),
        key(Viewer(user_id=None, organization_id=1, role=Role.VIEWER, api_key_id=1,
                    key_scopes=frozenset({"interactions:read"}))),
        key(user, query=EMAILS),
        key(user, variables={"f": {"customerId": "x"}}),
    ]
    assert len({key(user), *different}) == 1 + len(different)


async def _raw_subscriber(url: str, token: str, query: str) -> Any:
    from websockets.asyncio.client import connect

    ws = await connect(url, subprotocols=["graphql-transport-ws"])
    await ws.send(orjson.dumps(
        {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}).decode())
    assert orjson.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(orjson.dumps(
        {"id": "1", "type": "subscribe", "payload": {"query": query}}).decode())
    return ws


async def test_shared_frames_are_byte_identical_to_the_executors(
    live, org, admin, settings, monkeypatch
) -> None:
    from app import live as live_module

    query = """subscription { interactionCreated { id channel direction subject body occurredAt
      metadata createdAt createdBy { email role } customer { name email stage tags address {
      city } owner { name } orderCount lastInteractionAt } email { status } } }"""
    token = token_for(await make_user(org, role=Role.VIEWER), settings)
    customer = await make_customer(org, owner=admin, email="bytes@example.com")
    monkeypatch.setattr(live_module, "group_key", lambda *args: None)
    alone = await _raw_subscriber(live.url, token, query)
    await live.subscribed(org.id, 1)
    monkeypatch.undo()
    grouped = await _raw_subscriber(live.url, token, query)
    await live.subscribed(org.id, 2)
    counts = live.app.state.compiler.events.counts
    try:
        before = fanout_of(live).executions, counts["compiled"]
        await make_interaction(customer, subject="Grüße", metadata={"b": [1, 2.5], "a": None})
        frames = [await asyncio.wait_for(ws.recv(), 15) for ws in (alone, grouped)]
    finally:
        await alone.close()
        await grouped.close()
    # the group's payload came from its compiled plan; the lone subscriber's from Strawberry
    assert (fanout_of(live).executions, counts["compiled"]) == (before[0] + 1, before[1] + 1)
    assert counts["mismatch"] == 0
    assert "errors" not in frames[0]
    assert frames[0] == frames[1]


async def test_groups_the_compiler_cannot_serve_render_on_the_generic_executor(
    live, org, settings
) -> None:
    query = "subscription($x: Boolean!) { interactionCreated { id subject @skip(if: $x) } }"
    token = token_for(await make_user(org, role=Role.VIEWER), settings)
    customer = await make_customer(org)
    counts = live.app.state.compiler.events.counts
    async with GraphQLSocket.open(live.url, token) as socket:
        ops = [await socket.subscribe(query, x=True), await socket.subscribe(query, x=True)]
        await live.subscribed(org.id, 2)
        before = fanout_of(live).executions, counts["generic: directives"]
        interaction = await make_interaction(customer)
        got = [await socket.data(op) for op in ops]
    assert got == [{"interactionCreated": {"id": gid(interaction)}}] * 2
    assert (fanout_of(live).executions, counts["generic: directives"]) == (
        before[0] + 1, before[1] + 1)
