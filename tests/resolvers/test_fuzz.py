"""Generated operations and variables, from the schema itself, thrown at the endpoint.

Whatever comes in: no internal error, and nothing of another organization comes out.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import pytest_asyncio
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    get_named_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import Settings
from tests.factories import (
    Api,
    gid,
    make_customer,
    make_interaction,
    make_order,
    make_org,
    make_user,
    token_for,
)
from tests.graphql_docs import graphql_schema, root_fields
from tests.security_helpers import make_key

MARK = "fz-other-tenant"
SCHEMA = graphql_schema()
OPERATIONS = sorted(p for p in root_fields(SCHEMA) if not p.startswith("Subscription."))
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(settings: Settings) -> dict[str, Any]:
    """Our organization (a user and a key) and another one whose rows carry ``MARK``."""
    ours, other = await make_org(), await make_org()
    own = await make_customer(ours, name="Own customer")
    foreign = await make_customer(other, name=f"{MARK} name", email="fz-other@example.com")
    ids = [gid(own), gid(await make_interaction(own)), gid(await make_order(own)),
           gid(foreign), gid(await make_interaction(foreign, body=MARK)),
           gid(await make_order(foreign))]
    for type_name in ("EmailTemplate", "Campaign", "TrainingRun", "ApiKey", "User"):
        ids.append(base64.urlsafe_b64encode(f"{type_name}:1".encode()).decode().rstrip("="))
    credentials = [token_for(await make_user(ours), settings),
                   await make_key(ours.id, ["customers:read", "interactions:read",
                                            "orders:read", "customers:write"])]
    return {"ids": ids, "credentials": credentials}


def values(type_: GraphQLInputType, ids: list[str], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for ``type_``: mostly valid, sometimes odd (ids of both tenants, junk text)."""
    if isinstance(type_, GraphQLNonNull):
        return values(type_.of_type, ids, depth)
    nullable = st.none()
    if isinstance(type_, GraphQLList):
        return st.lists(values(type_.of_type, ids, depth + 1), max_size=2) | nullable
    if isinstance(type_, GraphQLEnumType):
        return st.sampled_from(list(type_.values)) | nullable
    if isinstance(type_, GraphQLInputObjectType):
        if depth > 2:
            return nullable
        required = {n: values(f.type, ids, depth + 1) for n, f in type_.fields.items()
                    if isinstance(f.type, GraphQLNonNull)}
        optional = {n: values(f.type, ids, depth + 1) for n, f in type_.fields.items()
                    if not isinstance(f.type, GraphQLNonNull)}
        return st.fixed_dictionaries(required, optional=optional)
    assert isinstance(type_, GraphQLScalarType)
    return _scalar(type_.name, ids) | nullable


def _scalar(name: str, ids: list[str]) -> st.SearchStrategy[Any]:
    if name == "ID":
        return st.sampled_from(ids) | TEXT
    if name == "Int":
        return st.integers(-3, 300)
    if name == "Float":
        return st.floats(-10, 10)
    if name == "Boolean":
        return st.booleans()
    if name == "DateTime":
        return st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(
            lambda d: d.isoformat()) | TEXT
    if name == "Decimal":
        return st.decimals(-1000, 1000, places=2).map(str) | TEXT
    if name == "JSON":
        return st.dictionaries(TEXT, TEXT | st.integers(), max_size=2)
    return TEXT


def selections(field: GraphQLField, depth: int = 0) -> st.SearchStrategy[str]:
    """A selection set for ``field``'s type: a random subset of its fields, a few levels deep."""
    named = get_named_type(field.type)
    if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
        return st.just(" { __typename ... on Node { id } }")
    if not isinstance(named, GraphQLObjectType):
        return st.just("")
    usable = sorted(n for n, f in named.fields.items()
                    if not any(isinstance(a.type, GraphQLNonNull) for a in f.args.values())
                    and (depth < 3 or not isinstance(get_named_type(f.type), GraphQLObjectType)))
    if not usable:
        return st.just(" { __typename }")

    @st.composite
    def build(draw: Any) -> str:
        chosen = draw(st.lists(st.sampled_from(usable), min_size=1, max_size=5, unique=True))
        parts = [name + draw(selections(named.fields[name], depth + 1)) for name in chosen]
        return " { __typename " + " ".join(parts) + " }"

    return build()


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_generated_operations_never_fail_internally_or_leak(  # type: ignore[no-untyped-def]
    http, world: dict[str, Any], data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(OPERATIONS))
    operation, field = root_fields(SCHEMA)[path]
    name = path.split(".")[1]
    args = {n: a for n, a in field.args.items()
            if isinstance(a.type, GraphQLNonNull) or data.draw(st.booleans())}
    variables = {n: data.draw(values(a.type, world["ids"])) for n, a in args.items()}
    declared = ", ".join(f"${n}: {a.type}" for n, a in args.items())
    passed = ", ".join(f"{n}: ${n}" for n in args)
    query = (f"{operation}{f'({declared})' if args else ''} {{ {name}"
             f"{f'({passed})' if args else ''}{data.draw(selections(field))} }}")
    credential = data.draw(st.sampled_from(world["credentials"]))
    body = await Api(http, credential)(query, **variables)
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    assert "INTERNAL_SERVER_ERROR" not in codes, (query, variables, body)
    assert MARK not in repr(body), (query, variables)
    assert "fz-other@example.com" not in repr(body)


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
