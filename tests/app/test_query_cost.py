"""Query cost: estimated from page sizes before any SQL runs; limits come from settings."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest
from graphql import parse
from starlette.datastructures import State

from app.graphql import build_schema
from app.main import create_app
from app.query_cost import PageSizes, cost_of, operation_cost
from core.config import Settings
from tests.factories import Api, make_user, token_for
from tests.statements import count_statements

PAGES = PageSizes(default=20, maximum=100)
NESTED = """
query($n: Int) {
  customers(first: 100) { nodes { id interactions(first: $n) { nodes { id subject } } } }
}"""
BIG = """
query($n: Int) {
  customers(first: 100) { nodes { interactions(first: $n) {
    nodes { id subject body channel direction }
  } } }
}"""
BIG_COST = 1 + 100 * (1 + 1 + 100 * (1 + 5))


@pytest.fixture(scope="module")
def schema(settings: Settings):  # type: ignore[no-untyped-def]
    return build_schema(settings)


def cost(schema, query: str, variables: dict | None = None, name: str | None = None) -> int:  # type: ignore[no-untyped-def]
    return operation_cost(schema._schema, parse(query), name, variables, PAGES)


def test_page_sizes_multiply_what_is_selected_inside(schema) -> None:
    # customers: 1 + 100 * (nodes: 1 + id 1 + interactions: 1 + n * (nodes: 1 + 2))
    assert cost(schema, NESTED, {"n": 50}) == 1 + 100 * (1 + 1 + 1 + 50 * 3)
    assert cost(schema, NESTED, {"n": 5}) == 1 + 100 * (3 + 5 * 3)


def test_defaults_caps_and_last_are_counted(schema) -> None:
    default = "{ customers { nodes { id } } }"
    assert cost(schema, default) == 1 + 20 * 2
    assert cost(schema, "{ customers(first: 100000) { nodes { id } } }") == 1 + 100 * 2
    assert cost(schema, "{ customers(last: 7) { nodes { id } } }") == 1 + 7 * 2
    assert cost(schema, NESTED, {"n": None}) == cost(schema, NESTED, {"n": 20})
    assert cost(schema, NESTED, {"n": "many"}) == cost(schema, NESTED, {"n": 20})


def test_fragments_and_the_chosen_operation_count(schema) -> None:
    query = """
    query Small { viewer { user { email } } }
    query Big { customers(first: 10) { ...C } }
    fragment C on CustomerConnection { nodes { ... on Customer { id name } } }
    """
    assert cost(schema, query, name="Small") == 3
    assert cost(schema, query, name="Big") == 1 + 10 * (1 + 2)
    assert cost(schema, "{ __typename customers(first: 2) { __typename } }") == 1


async def test_over_the_limit_is_refused_before_any_sql(http, settings) -> None:
    with count_statements() as statements:
        body = await Api(http)(BIG, n=100)
    assert statements == []  # not even the (anonymous) caller was looked up
    [error] = body["errors"]
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX", "cost": BIG_COST, "maxCost": settings.query_max_cost,
    }
    assert f"query cost {BIG_COST} is over the limit of 50000" in error["message"]
    assert body.get("data") is None


async def test_signed_in_callers_are_refused_the_same_way(http, org, settings) -> None:
    api = Api(http, token_for(await make_user(org), settings))
    with count_statements() as statements:
        body = await api(BIG, n=100)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert not any("customer" in statement for statement in statements)
    within = await api.data(BIG, n=5)
    assert within == {"customers": {"nodes": []}}


async def test_limits_are_settings(db: str, settings: Settings, org) -> None:
    tight = settings.model_copy(update={
        "query_max_cost": 10, "query_max_depth": 3, "query_max_aliases": 2,
        "query_max_tokens": 40,
    })
    transport = httpx.ASGITransport(app=create_app(tight, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as http:
        api = Api(http, token_for(await make_user(org), tight))
        assert (await api("{ customers(first: 5) { nodes { id } } }"))["errors"][0][
            "extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert "data" in await api("{ customers(first: 4) { nodes { id } } }")
        deep = await api("{ viewer { user { email } organization { name } } }")
        assert "errors" not in deep
        too_deep = await api(
            "{ customers(first: 1) { nodes { interactions(first: 1) { nodes { id } } } } }"
        )
        assert "exceeds maximum operation depth of 3" in too_deep["errors"][0]["message"]
        aliases = await api("{ a: __typename b: __typename c: __typename }")
        assert aliases["errors"][0]["message"] == "3 aliases found. Allowed: 2"
        assert "errors" not in await api("{ a: __typename b: __typename }")
        tokens = await api("{ " + "__typename " * 40 + "}")
        assert "more than 40 tokens" in tokens["errors"][0]["message"]


async def test_the_cost_is_left_for_response_extensions(schema) -> None:
    request = SimpleNamespace(state=State())
    context = SimpleNamespace(request=request, request_id="r1")
    result = await schema.execute("{ __typename }", context_value=context)
    assert result.errors is None
    assert cost_of(request) == 0
    refused = await schema.execute(BIG, variable_values={"n": 100}, context_value=context)
    assert refused.errors
    assert cost_of(request) == BIG_COST


async def test_an_empty_selection_set_is_refused_not_a_crash(http, org, settings) -> None:
    """The parser lets ``{ }`` through; measuring its depth used to raise out of the request."""
    api = Api(http, token_for(await make_user(org), settings))
    for query in ("{ viewer { } }", "{ viewer { ... on Viewer { } } }",
                  "{ viewer { ...V } } fragment V on Viewer { }", "query Q { }"):
        body = await api(query)
        assert body.get("data") is None, query
        [error] = body["errors"]
        assert error["message"] == "Syntax Error: a selection set must not be empty.", query
    assert "errors" not in await api("{ viewer { user { email } } }")
