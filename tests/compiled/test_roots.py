"""Root lookups served without their resolver answer as the resolver would, or leave it to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import parse

from app.guards import install  # noqa: F401  (the guards whose wrapped fields are excluded)
from auth.pii import MASKS
from auth.scopes import NESTED_SCOPES
from compiled.roots import LOOKUPS, direct_root
from core.config import Settings
from db.enums import Role
from tests.compiled.test_guards import Client, _client_app
from tests.factories import gid, make_customer, make_org, make_user, token_for
from tests.security_helpers import make_key

LIGHT = "query($id: ID!) { customer(id: $id) { id name email } }"


@pytest.fixture
async def client(db: str, settings: Settings) -> AsyncIterator[Client]:
    app = _client_app(db, settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm.test"
    ) as http:
        yield Client(http, app)


def test_no_lookup_serves_a_field_the_guards_wrap() -> None:
    for path in LOOKUPS:
        type_name, name = path.split(".")
        assert (type_name, name) not in MASKS
        assert path not in NESTED_SCOPES
        assert path != "Query.node"


def test_only_an_id_variable_or_string_literal_is_served_directly() -> None:
    def nodes(text: str) -> Any:
        return [parse(text).definitions[0].selection_set.selections[0]]  # type: ignore[attr-defined]

    from auth.permissions import IsAuthenticated, IsManager

    by_variable = direct_root("Query.customer", nodes("query($i: ID!) { customer(id: $i) { id } }"),
                              [IsAuthenticated])
    assert by_variable is not None
    assert by_variable.variable == "i"
    by_literal = direct_root("Query.customer", nodes('{ customer(id: "Q3VzdG9tZXI6MQ") { id } }'),
                             [IsAuthenticated])
    assert by_literal is not None
    assert by_literal.literal == "Q3VzdG9tZXI6MQ"
    assert by_literal.role is Role.VIEWER
    assert direct_root("Query.customer", nodes("{ customer(id: 1) { id } }"),
                       [IsAuthenticated]) is None
    assert direct_root("Query.customers", nodes("{ customers { nodes { id } } }"),
                       [IsAuthenticated]) is None
    assert direct_root("Query.customer", nodes('{ customer(id: "x") { id } }'),
                       [IsAuthenticated, IsManager]) is None


async def test_lookups_by_id_answer_on_the_compiled_path(client: Client, org, settings) -> None:
    customer = await make_customer(org)
    admin = token_for(await make_user(org, role=Role.ADMIN), settings)
    body = (await client.post(LIGHT, admin, id=gid(customer))).json()
    assert body["data"] == {"customer": {
        "id": gid(customer), "name": customer.name, "email": customer.email}}
    stranger = token_for(await make_user(await make_org()), settings)
    assert (await client.post(LIGHT, stranger, id=gid(customer))).json()["data"] == {
        "customer": None}
    assert client.counts["compiled"] == 2


async def test_malformed_ids_and_refused_keys_are_worded_by_the_resolver(
    client: Client, org, settings
) -> None:
    customer = await make_customer(org)
    admin = token_for(await make_user(org, role=Role.ADMIN), settings)
    bad = (await client.post(LIGHT, admin, id="not-an-id")).json()
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert bad["errors"][0]["path"] == ["customer"]
    other_type = (await client.post(LIGHT, admin, id=gid(await make_user(org)))).json()
    assert other_type["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    key = await make_key(org.id, ["orders:read"])
    refused = (await client.post(LIGHT, key, id=gid(customer))).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert client.counts["compiled"] == 0
    assert client.counts["fallback: root customer: id"] == 2
    assert client.counts["fallback: root customer: permission"] == 1
