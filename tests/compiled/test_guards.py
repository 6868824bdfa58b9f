"""Every guard holds on the compiled path: each test checks which path answered, too."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core.config import Settings
from db import customer as customers
from db.enums import Role
from tests.factories import gid, make_customer, make_interaction, make_org, make_user, token_for
from tests.security_helpers import make_key

NESTED = """query($id: ID!) { customer(id: $id) {
  id name email phone address { street city country }
  interactions(first: 2) { edges { node { id channel } } }
  lastInteractionAt } }"""


class Client:
    """An app with compiled queries (no verification run) and its counters."""

    def __init__(self, http: httpx.AsyncClient, app: Any) -> None:
        self.http = http
        self.counts = app.state.compiler.counts

    async def post(self, query: str, token: str | None, **variables: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )


def _client_app(db: str, settings: Settings, **overrides: Any) -> Any:
    from app.main import create_app

    return create_app(
        settings.model_copy(update={"compiled_verify": False, **overrides}), db
    )


@pytest.fixture
async def client(db: str, settings: Settings) -> AsyncIterator[Client]:
    app = _client_app(db, settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as http:
        yield Client(http, app)


@pytest.fixture
async def world(org, settings) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    customer = await make_customer(org, phone="+4930123456", street="Hauptstr. 1", city="Bonn")
    await make_interaction(customer)
    return {"customer": customer, "id": gid(customer),
            "admin": token_for(await make_user(org, role=Role.ADMIN), settings)}


async def test_users_see_contact_data_on_the_compiled_path(client: Client, world) -> None:
    body = (await client.post(NESTED, world["admin"], id=world["id"])).json()
    assert body["data"]["customer"]["email"] == world["customer"].email
    assert client.counts["compiled"] == 1


async def test_keys_without_pii_read_see_masks_on_the_compiled_path(
    client: Client, org, world
) -> None:
    key = await make_key(org.id, ["customers:read", "interactions:read"])
    body = (await client.post(NESTED, key, id=world["id"])).json()
    seen = body["data"]["customer"]
    assert seen["email"].startswith(world["customer"].email[0] + "***@")
    assert seen["phone"] == "***56"
    assert seen["address"] == {"street": "***", "city": "***", "country": None}
    assert client.counts["compiled"] == 1


async def test_a_missing_nested_scope_is_refused_by_the_generic_path(
    client: Client, org, world
) -> None:
    key = await make_key(org.id, ["customers:read"])
    body = (await client.post(NESTED, key, id=world["id"])).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["path"] == ["customer", "interactions"]
    assert client.counts["compiled"] == 0
    assert client.counts["fallback: scope"] == 1


async def test_anonymous_and_other_organizations(client: Client, settings, world) -> None:
    anonymous = (await client.post(NESTED, None, id=world["id"])).json()
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    stranger = token_for(await make_user(await make_org()), settings)
    theirs = (await client.post(NESTED, stranger, id=world["id"])).json()
    assert theirs == {"data": {"customer": None}, "extensions": theirs["extensions"]}
    assert client.counts["fallback: unauthenticated"] == 1
    assert client.counts["compiled"] == 1  # another organization's id is simply not found


async def test_role_permissions_on_the_root_field(client: Client, org, settings) -> None:
    viewer = token_for(await make_user(org, role=Role.VIEWER), settings)
    ok = (await client.post("{ customers(first: 1) { edges { node { id } } } }", viewer)).json()
    assert "errors" not in ok
    assert client.counts["compiled"] == 1
    only_users = (await client.post("{ viewer { user { email } } }", await make_key(
        org.id, ["customers:read"]))).json()
    assert only_users["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_bad_arguments_are_worded_by_the_generic_path(client: Client, world) -> None:
    too_many = await client.post(
        "query($id: ID!) { customer(id: $id) { interactions(first: 101) { edges { cursor } } } }",
        world["admin"], id=world["id"],
    )
    (error,) = too_many.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["customer", "interactions"]
    bad_cursor = (await client.post(
        '{ customers(first: 1, after: "nope") { edges { cursor } } }', world["admin"]
    )).json()
    assert bad_cursor["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert client.counts["compiled"] == 0


async def test_cost_is_reported_and_limited(db, settings, world) -> None:
    app = _client_app(db, settings, query_max_cost=100)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm.test"
    ) as http:
        client = Client(http, app)
        cheap = (await client.post("{ customers(first: 5) { nodes { id } } }",
                                   world["admin"])).json()
        assert cheap["extensions"]["cost"] == {"requested": 11, "limit": 100}
        dear = (await client.post("{ customers(first: 50) { nodes { id } } }",
                                  world["admin"])).json()
        assert dear["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert client.counts["compiled"] == 1
        assert client.counts["fallback: cost"] == 1


async def test_rate_limits_count_compiled_requests(db, settings, world) -> None:
    app = _client_app(db, settings, rate_limit_points=2)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm.test"
    ) as http:
        client = Client(http, app)
        query = "{ customers(first: 1) { nodes { id } } }"
        first = await client.post(query, world["admin"])
        assert first.json()["extensions"]["rateLimit"] == {"limit": 2, "remaining": 1}
        assert (await client.post(query, world["admin"])).status_code == 200
        refused = await client.post(query, world["admin"])
        assert refused.status_code == 429
        assert "retry-after" in refused.headers
        assert client.counts["compiled"] == 2


async def test_request_ids_and_masked_internal_errors(
    client: Client, world, monkeypatch, caplog
) -> None:
    answered = await client.post(NESTED, world["admin"], id=world["id"])
    assert len(answered.headers["x-request-id"]) == 32

    async def broken(**kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(customers, "stats", broken)  # used by a batched field
    with caplog.at_level(logging.ERROR, logger="crm.graphql"):
        response = await client.post(NESTED, world["admin"], id=world["id"])
    (error,) = response.json()["errors"]
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR", "requestId": response.headers["x-request-id"]
    }
    assert "secret detail" not in response.text
    assert client.counts["fallback: Customer.lastInteractionAt: RuntimeError"] == 1


async def test_mutations_stay_on_the_generic_path_and_are_audited(
    client: Client, world
) -> None:
    from db.sql import fetch

    response = await client.post(
        'mutation($id: ID!) { updateCustomer(input: {id: $id, name: "New"}) { errors { code } } }',
        world["admin"], id=world["id"],
    )
    assert response.json()["data"]["updateCustomer"]["errors"] == []
    rows = await fetch("SELECT action FROM audit_event WHERE target_type = 'Customer'"
                       " AND target_id = $1", [world["customer"].id])
    assert [r["action"] for r in rows] == ["updateCustomer"]
    assert client.counts["generic: mutation operation"] == 1


async def test_compiled_and_generic_paths_charge_alike(db, settings, world) -> None:
    """The same requests cost the same points on both paths, refusals included (each app keeps
    budgets of its own, so the two can be compared request by request)."""
    light = "{ customers(first: 1) { nodes { id } } }"  # 1 point
    dear = "{ customers(first: 100) { nodes { id interactions(first: 5) { nodes { id } } } } }"
    too_complex = "{ customers(first: 100) { nodes { interactions(first: 20) { nodes { id } } } } }"
    # the dear query once with a slice too small (the compiled path hands it to the generic
    # one to wait for the store), then again, invalid and too complex ones (one point each),
    # then until the budget of 60 is spent
    sequence = [light, dear, dear, "{ nope }", too_complex, *[light] * 30]
    overrides = {"rate_limit_points": 60, "rate_limit_shared": False, "query_max_cost": 2000}
    seen: dict[bool, list[tuple[object, ...]]] = {}
    for compiled in (True, False):
        app = _client_app(db, settings, compiled_queries=compiled, **overrides)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://crm.test"
        ) as http:
            client = Client(http, app) if compiled else None
            answers = []
            for query in sequence:
                response = await http.post("/graphql", json={"query": query},
                                           headers={"Authorization": f"Bearer {world['admin']}"})
                # (the seconds until the window ends may tick between the two apps' requests)
                refused = response.status_code == 429
                answers.append((
                    response.status_code, None if refused else response.content,
                    response.headers["ratelimit-limit"], response.headers["ratelimit-remaining"],
                ))
            seen[compiled] = answers
            if client is not None:
                assert client.counts["compiled"] >= 20
    assert seen[True] == seen[False]
    statuses = [answer[0] for answer in seen[True]]
    assert statuses.count(200) == 35 - statuses.count(429)
    assert statuses[-1] == 429
    assert seen[True][1][0] == 200  # the dear query went through both times


async def test_viewers_see_personal_data_masked_on_the_compiled_path(
    client: Client, org, settings
) -> None:
    from db.sql import fetch

    await fetch("UPDATE organization SET personal_custom_fields = '{birthday}' WHERE id = $1",
                [org.id])
    customer = await make_customer(org, phone="+4930123456",
                                   custom_fields={"birthday": "1990-02-03", "tier": 1})
    await make_interaction(customer, body="secret", metadata={"to": ["a@example.com"]})
    query = """query($id: ID!) { customer(id: $id) { phone customFields
      interactions(first: 1) { nodes { body metadata } } } }"""
    viewer = token_for(await make_user(org, role=Role.VIEWER), settings)
    seen = (await client.post(query, viewer, id=gid(customer))).json()["data"]["customer"]
    assert seen == {"phone": "***56", "customFields": {"birthday": "***", "tier": 1},
                    "interactions": {"nodes": [{"body": "***",
                                                "metadata": {"to": ["a***@example.com"]}}]}}
    assert client.counts["compiled"] == 1
