"""Nested fields are batched: the SQL statements per request do not grow with the page size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from db.enums import Channel
from tests.factories import (
    Api,
    make_customer,
    make_interaction,
    make_order,
    make_user,
    token_for,
)
from tests.statements import count_statements

NESTED = """
query($first: Int!) {
  customers(first: $first) {
    totalCount
    edges { cursor node {
      id name owner { id name }
      lifetimeValue { amount currency } orderCount lastOrderAt lastInteractionAt
      interactions(first: 5) {
        totalCount
        edges { node { id channel subject occurredAt customer { id name } createdBy { name } } }
      }
      orders(first: 3) { edges { node { id total { amount currency } status } } }
    } }
  }
}"""


async def _populate(org, count: int) -> None:
    owner = await make_user(org)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(count):
        customer = await make_customer(org, owner=owner)
        for k in range(6):
            await make_interaction(
                customer, channel=Channel.EMAIL, occurred_at=start + timedelta(hours=k),
                created_by=owner,
            )
        await make_order(customer)
        if n % 2:
            await make_order(customer, currency="USD")


async def _statements_for(api, first: int) -> tuple[int, dict]:
    with count_statements() as statements:
        data = await api.data(NESTED, first=first)
    return len(statements), data


@pytest.fixture(params=["compiled", "generic"])
async def path_api(request, db, settings, admin):
    """GraphQL as the ADMIN through one execution path alone (no verification run)."""
    from app.main import create_app

    compiled = request.param == "compiled"
    app = create_app(
        settings.model_copy(update={"compiled_queries": compiled, "compiled_verify": False}), db
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as client:
        api = Api(client, token_for(admin, settings))
        api.compiled = compiled  # type: ignore[attr-defined]
        yield api
    if compiled:
        assert app.state.compiler.counts["compiled"] >= 1, app.state.compiler.counts


async def test_statement_count_is_independent_of_page_size(path_api, org) -> None:
    api = path_api
    await _populate(org, 100)
    small, _ = await _statements_for(api, 5)
    large, large_data = await _statements_for(api, 100)
    assert len(large_data["customers"]["edges"]) == 100
    assert small == large
    # token check, customers page, count, users (owners and authors in one batch), stats,
    # interactions page, interactions count, interaction customers, orders page
    assert large == 9, statements_note(large)
    node = large_data["customers"]["edges"][0]["node"]
    assert len(node["interactions"]["edges"]) == 5
    assert node["interactions"]["totalCount"] == 6
    assert node["owner"]["name"] == "Test User"
    assert node["orderCount"] in (1, 2)


def statements_note(count: int) -> str:
    return f"{count} statements"


async def test_nested_pages_read_only_the_columns_asked_for(path_api, org) -> None:
    await _populate(org, 3)
    with count_statements() as statements:
        data = await path_api.data(NESTED, first=3)
    assert data["customers"]["edges"][0]["node"]["interactions"]["edges"]
    (page,) = [s for s in statements if "FROM interaction t WHERE t.customer_id = p.parent_id" in s]
    selected = page.split("LATERAL (SELECT ", 1)[1].split(" FROM interaction", 1)[0]
    if path_api.compiled:
        # asked: id channel subject occurredAt customer createdBy (and the page's own keys)
        assert selected == (
            "t.id, t.customer_id, t.channel, t.subject, t.occurred_at, t.created_by_id,"
            " t.occurred_at AS sort_key"
        )
    else:  # the generic path reads whole rows
        assert "t.body" in selected
        assert "t.metadata" in selected
