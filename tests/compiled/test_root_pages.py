"""Plain root connections served without their resolver: the same pages, errors left to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from compiled.root_pages import DirectPage
from core.config import Settings
from db.enums import Role
from tests.compiled.test_guards import Client, _client_app
from tests.factories import gid, make_customer, make_user, token_for

PAGE = "query($n: Int, $after: String) { customers(first: $n, after: $after) {"\
    " edges { cursor node { id } } pageInfo { hasNextPage endCursor } totalCount } }"


@pytest.fixture
async def client(db: str, settings: Settings) -> AsyncIterator[Client]:
    app = _client_app(db, settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm.test"
    ) as http:
        yield Client(http, app)


async def test_pages_walk_on_the_compiled_path(client: Client, org, settings) -> None:
    made = [await make_customer(org) for _ in range(3)]
    admin = token_for(await make_user(org, role=Role.ADMIN), settings)
    first = (await client.post(PAGE, admin, n=2)).json()["data"]["customers"]
    assert [e["node"]["id"] for e in first["edges"]] == [gid(made[2]), gid(made[1])]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    assert first["totalCount"] == 3
    rest = (await client.post(PAGE, admin, n=2, after=first["pageInfo"]["endCursor"])).json()
    assert [e["node"]["id"] for e in rest["data"]["customers"]["edges"]] == [gid(made[0])]
    assert client.counts["compiled"] == 2
    plan = client.http._transport.app.state.compiler.plan_for(PAGE, None)  # type: ignore[attr-defined]
    assert isinstance(plan.roots[0].direct, DirectPage)


async def test_filters_and_orders_go_through_the_resolver(client: Client, org, settings) -> None:
    admin = token_for(await make_user(org, role=Role.ADMIN), settings)
    query = '{ customers(first: 1, orderBy: NAME_ASC) { nodes { id } } }'
    assert "errors" not in (await client.post(query, admin)).json()
    plan = client.http._transport.app.state.compiler.plan_for(query, None)  # type: ignore[attr-defined]
    assert plan.roots[0].direct is None
    assert client.counts["compiled"] == 1


async def test_bad_cursors_and_sizes_are_worded_by_the_resolver(
    client: Client, org, settings
) -> None:
    admin = token_for(await make_user(org, role=Role.ADMIN), settings)
    bad = (await client.post(PAGE, admin, n=2, after="nope")).json()
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    too_many = (await client.post(PAGE, admin, n=1000)).json()
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert client.counts["fallback: root customers: page"] == 2
    viewer_key = (await client.post(PAGE, None, n=1)).json()
    assert viewer_key["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
