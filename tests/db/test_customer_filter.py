"""Customer filter trees: the SQL agrees with a plain Python evaluation (property-based)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import AppError
from db import customer as customers
from db.customer_filter import (
    CustomerFilter,
    InteractionFacts,
    OrderFacts,
    OwnerFacts,
    Range,
    conditions,
)
from db.customer_filter_json import from_json, to_json
from db.enums import Channel, Direction, LifecycleStage, OrderStatus, Role
from db.sql import Params, fetch
from tests.db.filter_world import COUNTRIES, DAYS, SEGMENTS, TAGS, World, build_world, matches
from tests.factories import make_org

# whole-day offsets from "now": the generated data sits half a day off each of them
days_ago = st.sampled_from(DAYS)
amounts = st.sampled_from([Decimal(v) for v in (0, 20, 60, 100, 150, 300, 600)])
counts = st.integers(min_value=0, max_value=4)


def _ranges(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Range]:
    return st.builds(Range, gte=st.none() | values, lte=st.none() | values)


@st.composite
def _when(draw: st.DrawFn) -> timedelta:
    return timedelta(days=draw(days_ago))


order_facts = st.builds(
    OrderFacts,
    statuses=st.lists(st.sampled_from(list(OrderStatus)), min_size=1, max_size=2, unique=True),
    since=st.none() | _when(), until=st.none() | _when(),
    currency=st.sampled_from([None, "EUR", "USD"]),
    total_spent=st.none() | _ranges(amounts), has_order_over=st.none() | amounts,
    count=st.none() | _ranges(counts),
    last_order_before=st.none() | _when(), last_order_after=st.none() | _when(),
)
interaction_facts = st.builds(
    InteractionFacts,
    channels=st.lists(st.sampled_from([Channel.EMAIL, Channel.PHONE, Channel.MEETING]),
                      max_size=2, unique=True),
    direction=st.none() | st.sampled_from(list(Direction)),
    since=st.none() | _when(), until=st.none() | _when(),
    count=st.none() | _ranges(counts),
    none_within_days=st.none() | days_ago, no_inbound_within_days=st.none() | days_ago,
    last_before=st.none() | _when(), last_after=st.none() | _when(),
)
owner_facts = st.builds(
    OwnerFacts,
    email=st.none(), role=st.none() | st.sampled_from([Role.AGENT, Role.MANAGER]),
    name=st.none() | st.sampled_from(["owner", "paul", "QUINN"]),
)
leaves = st.one_of(
    st.builds(CustomerFilter, search=st.sampled_from(["smith", "jon", "acme", " Anna "])),
    st.builds(CustomerFilter, tags=st.lists(st.sampled_from(TAGS), max_size=2, unique=True)),
    st.builds(CustomerFilter, stages=st.lists(st.sampled_from(list(LifecycleStage)),
                                              min_size=1, max_size=2, unique=True)),
    st.builds(CustomerFilter, countries=st.lists(st.sampled_from(COUNTRIES), min_size=1,
                                                 max_size=2, unique=True)),
    st.builds(CustomerFilter, created_after=st.none() | _when(),
              created_before=st.none() | _when()),
    st.builds(CustomerFilter, segments=st.lists(st.sampled_from(SEGMENTS), min_size=1,
                                                unique=True)),
    st.builds(CustomerFilter, min_churn_risk=st.none() | st.sampled_from([0.1, 0.5, 0.8]),
              max_churn_risk=st.none() | st.sampled_from([0.1, 0.5, 0.8])),
    st.builds(CustomerFilter, min_expected_revenue=st.sampled_from([0.0, 50.0, 100.0])),
    st.builds(CustomerFilter, orders=order_facts),
    st.builds(CustomerFilter, interactions=interaction_facts),
    st.builds(CustomerFilter, owner=owner_facts),
    st.just(CustomerFilter(all_of=[])),  # everyone
    st.just(CustomerFilter(any_of=[])),  # an empty "or" has no effect
)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.builds(CustomerFilter, all_of=st.lists(children, min_size=1, max_size=3)),
        st.builds(CustomerFilter, any_of=st.lists(children, min_size=1, max_size=3)),
        st.builds(CustomerFilter, not_=children),
        st.builds(CustomerFilter, orders=st.none() | order_facts,
                  interactions=st.none() | interaction_facts, not_=children),
    ),
    max_leaves=8,
)


def _resolve(f: CustomerFilter, now: datetime) -> CustomerFilter:
    """Turn the day offsets the strategies draw into times before ``now``."""
    import dataclasses

    def fix(value: Any) -> Any:
        if isinstance(value, timedelta):
            return now - value
        if isinstance(value, CustomerFilter | OrderFacts | InteractionFacts):
            return dataclasses.replace(value, **{
                k.name: fix(getattr(value, k.name)) for k in dataclasses.fields(value)
            })
        if isinstance(value, list | tuple) and value and isinstance(value[0], CustomerFilter):
            return tuple(fix(v) for v in value)
        return value

    resolved: CustomerFilter = fix(f)
    return resolved


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world() -> World:
    return await build_world(await make_org(), random.Random(20261125))


async def _sql_ids(world: World, f: CustomerFilter) -> set[int]:
    source = customers.source(world.org.id, f)
    rows = await fetch(f"SELECT t.id FROM {source.table} t WHERE {source.where}",
                       source.params.values)
    return {row["id"] for row in rows}


def _python_ids(world: World, f: CustomerFilter) -> set[int]:
    return {p.id for p in world.people if matches(p, f, world.now, world.org.currency)}


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees)
async def test_sql_equals_python_for_random_filter_trees(
    world: World, tree: CustomerFilter
) -> None:
    f = _resolve(tree, world.now)
    assert await _sql_ids(world, f) == _python_ids(world, f)


async def test_world_exercises_every_kind_of_fact(world: World) -> None:
    """The generated data is rich enough for the property test to distinguish filters."""
    checks = [
        CustomerFilter(orders=OrderFacts(total_spent=Range(gte=Decimal(1)))),
        CustomerFilter(interactions=InteractionFacts(no_inbound_within_days=30)),
        CustomerFilter(owner=OwnerFacts(role=Role.MANAGER)),
        CustomerFilter(segments=("loyal",)),
        CustomerFilter(not_=CustomerFilter(max_churn_risk=0.5)),
    ]
    for f in checks:
        selected = await _sql_ids(world, f)
        assert 0 < len(selected) < len(world.people), f
        assert selected == _python_ids(world, f)


async def test_not_is_the_complement_even_for_unscored_customers(world: World) -> None:
    f = CustomerFilter(min_churn_risk=0.5)
    both = await _sql_ids(world, f) | await _sql_ids(world, CustomerFilter(not_=f))
    assert both == {p.id for p in world.people}


async def test_deleted_customers_stay_out_of_relation_filters(world: World) -> None:
    ids = await _sql_ids(world, CustomerFilter(orders=OrderFacts(count=Range(lte=0))))
    assert ids == {p.id for p in world.people if not any(
        o["status"] == OrderStatus.PAID for o in p.orders)}


def test_too_deep_or_too_wide_filters_are_refused() -> None:
    deep = CustomerFilter()
    for _ in range(10):
        deep = CustomerFilter(not_=deep)
    with pytest.raises(AppError, match="too complex"):
        customers.source(1, deep)
    wide = CustomerFilter(any_of=tuple(CustomerFilter(search=str(i)) for i in range(100)))
    with pytest.raises(AppError, match="too complex"):
        customers.source(1, wide)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(tree=trees)
def test_json_round_trip_keeps_every_condition(tree: CustomerFilter) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    f = _resolve(tree, now)
    stored = orjson.loads(orjson.dumps(to_json(f)))
    back = from_json(stored)
    assert to_json(back) == stored

    def compiled(x: CustomerFilter) -> tuple[list[str], list[Any]]:
        params = Params()
        return conditions(x, params, now), params.values

    assert compiled(back) == compiled(f)
