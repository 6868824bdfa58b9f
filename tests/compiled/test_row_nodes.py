"""Row-backed nodes: a nested connection whose nodes ask only for row columns is written from
the rows (no API object per row); anything else keeps the API objects. Both answer the same
bytes as the generic executor (``compiled_verify`` compares each answer here with it)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from compiled.plan import Plan, Selection
from tests.compiled.test_guards import Client, _client_app
from tests.factories import make_customer, make_interaction, make_org, make_user, token_for

LEAVES = """{ customers(first: 5) { edges { node { id interactions(first: 3) {
  edges { cursor node { __typename id channel direction subject occurredAt dealId } } } } } } }"""
WITH_RESOLVER = """{ customers(first: 5) { nodes { id interactions(first: 3) {
  nodes { id createdBy { name } } } } } }"""


def _selections(plan: Plan, type_name: str) -> list[Selection]:
    found: list[Selection] = []

    def walk(selection: Selection) -> None:
        if selection.type_name == type_name:
            found.append(selection)
        for field in selection.fields:
            if field.child is not None:
                walk(field.child)

    for root in plan.roots:
        if root.field.child is not None:
            walk(root.field.child)
    return found


async def test_leaf_nodes_are_rows_and_resolver_nodes_are_objects(db, settings) -> None:
    org = await make_org()
    customer = await make_customer(org)
    for day in (1, 2, 3, 4):
        await make_interaction(customer, subject=f"day {day}",
                               occurred_at=datetime(2026, 3, day, tzinfo=UTC))
    token = token_for(await make_user(org), settings)
    app = _client_app(db, settings, compiled_verify=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm.test"
    ) as http:
        client = Client(http, app)
        body = (await client.post(LEAVES, token)).json()
        edges = body["data"]["customers"]["edges"][0]["node"]["interactions"]["edges"]
        assert [e["node"]["subject"] for e in edges] == ["day 4", "day 3", "day 2"]
        assert edges[0]["node"]["__typename"] == "Interaction"
        assert all(e["cursor"] for e in edges)
        assert (await client.post(WITH_RESOLVER, token)).status_code == 200
        assert client.counts["compiled"] == 2
        assert client.counts["mismatch"] == 0
    leaves = _selections(app.state.compiler.plan_for(LEAVES, None), "Interaction")
    assert leaves
    assert all(s.rows for s in leaves)
    objects = _selections(app.state.compiler.plan_for(WITH_RESOLVER, None), "Interaction")
    assert objects
    assert not any(s.rows for s in objects)
