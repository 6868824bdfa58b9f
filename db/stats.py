"""Dashboard aggregates: customers and orders counted, summed and averaged per group, in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from db import customer as customers
from db import exchange_rate as rates
from db.customer_filter import CustomerFilter
from db.enums import OrderStatus
from db.sql import fetch, replica

MAX_GROUPS = 1000


class GroupBy(StrEnum):
    """What rows can be grouped by; customer fields group orders by their customer."""

    STAGE = "STAGE"
    OWNER = "OWNER"
    SEGMENT = "SEGMENT"
    COUNTRY = "COUNTRY"
    MONTH = "MONTH"
    STATUS = "STATUS"


_CUSTOMER_KEYS = {
    GroupBy.STAGE: "t.stage", GroupBy.OWNER: "t.owner_id", GroupBy.SEGMENT: "t.segment",
    GroupBy.COUNTRY: "t.country",
    # the month a customer was created, in UTC
    GroupBy.MONTH: "date_trunc('month', t.created_at, 'UTC')",
}
_ORDER_KEYS = {
    **_CUSTOMER_KEYS,
    GroupBy.MONTH: "date_trunc('month', o.placed_at, 'UTC')",
    GroupBy.STATUS: "o.status",
}
_COLUMN = {
    GroupBy.STAGE: "stage", GroupBy.OWNER: "owner_id", GroupBy.SEGMENT: "segment",
    GroupBy.COUNTRY: "country", GroupBy.MONTH: "month", GroupBy.STATUS: "status",
}


@dataclass(frozen=True)
class OrderScope:
    """Which orders count: of customers matching ``customer``, in statuses and a period."""

    customer: CustomerFilter = field(default_factory=CustomerFilter)
    statuses: Sequence[OrderStatus] = ()
    placed_after: datetime | None = None
    placed_before: datetime | None = None


@dataclass(frozen=True)
class Groups:
    """Aggregated rows, one per group in key order; ``truncated`` if more than the cap exist."""

    rows: list[dict[str, Any]]
    truncated: bool


def _keys(group_by: Sequence[GroupBy], exprs: dict[GroupBy, str]) -> tuple[str, list[str]]:
    """The SELECT list of key columns (unused ones NULL) and the grouping expressions."""
    unique = list(dict.fromkeys(group_by))
    select = ", ".join(
        f"{exprs[key] if key in unique else 'NULL'} AS {_COLUMN[key]}" for key in exprs
    )
    return select, [exprs[key] for key in unique]


def _grouping(exprs: list[str]) -> str:
    """GROUP BY and ORDER BY clauses (groups in key order, NULL keys last), or nothing."""
    if not exprs:
        return ""
    order = ", ".join(f"{e} NULLS LAST" for e in exprs)
    return f" GROUP BY {', '.join(exprs)} ORDER BY {order}"


def _finish(rows: list[dict[str, Any]]) -> Groups:
    return Groups(rows=rows[:MAX_GROUPS], truncated=len(rows) > MAX_GROUPS)


async def customer_stats(
    *, org_id: int, f: CustomerFilter, group_by: Sequence[GroupBy]
) -> Groups:
    """Customers matching ``f`` per group: how many, how many scored, churn risk, revenue."""
    if GroupBy.STATUS in group_by:
        raise ValueError("customers have no order status")
    source = customers.source(org_id, f)
    select, group = _keys(group_by, _CUSTOMER_KEYS)
    rows = await fetch(
        f"SELECT {select}, count(*) AS count, count(t.churn_risk) AS scored_count,"
        " avg(t.churn_risk) AS average_churn_risk, sum(t.expected_revenue) AS expected_revenue"
        f" FROM {source.table} t WHERE {source.where}{_grouping(group)}"
        f" LIMIT {source.params.add(MAX_GROUPS + 1)}",
        source.params.values, replica(),
    )
    return _finish(rows)


async def order_stats(
    *, org_id: int, scope: OrderScope, group_by: Sequence[GroupBy], customer_count: bool = True
) -> Groups:
    """Orders in ``scope`` per group and currency: how many, sum, mean, and (only when asked,
    as it costs a second aggregation) of how many customers."""
    source = customers.source(org_id, scope.customer)
    p = source.params
    where = [source.where, f"o.organization_id = {p.add(org_id)}"]
    if scope.statuses:
        where.append(f"o.status = ANY({p.add([s.value for s in scope.statuses])}::text[])")
    if scope.placed_after is not None:
        where.append(f"o.placed_at >= {p.add(scope.placed_after)}")
    if scope.placed_before is not None:
        where.append(f"o.placed_at < {p.add(scope.placed_before)}")
    select, group = _keys(group_by, _ORDER_KEYS)
    org = p.add(org_id)
    org_currency = f"(SELECT currency FROM organization WHERE id = {org})"
    conv = rates.converted("o.amount", "o.currency", rates.order_day("o.placed_at"), org,
                           org_currency)
    if not customer_count:
        return _finish(await fetch(
            f"SELECT {select}, o.currency, count(*) AS count, sum(o.amount) AS total,"
            f" avg(o.amount) AS average, sum({conv}) AS converted_total,"
            f" count(*) FILTER (WHERE ({conv}) IS NULL) AS unconverted_count,"
            f" {org_currency} AS org_currency FROM customer_order o JOIN {source.table} t"
            f" ON t.id = o.customer_id WHERE {' AND '.join(where)}"
            f"{_grouping([*group, 'o.currency'])} LIMIT {p.add(MAX_GROUPS + 1)}",
            p.values, replica(),
        ))
    # per customer first, then per group: hash aggregates instead of a sort for count(DISTINCT)
    per_customer = (
        f"SELECT {select}, o.currency, count(*) AS n, sum(o.amount) AS total,"
        f" sum({conv}) AS converted, count(*) FILTER (WHERE ({conv}) IS NULL) AS unconverted"
        f" FROM customer_order o JOIN {source.table} t ON t.id = o.customer_id"
        f" WHERE {' AND '.join(where)}"
        f" GROUP BY {', '.join([*group, 'o.currency', 'o.customer_id'])}"
    )
    keys = [*(_COLUMN[key] for key in _ORDER_KEYS), "currency"]
    order = ", ".join(f"{k} NULLS LAST" for k in keys)
    rows = await fetch(
        f"SELECT {', '.join(keys)}, sum(n)::bigint AS count, count(*) AS customer_count,"
        f" sum(total) AS total, sum(total) / sum(n) AS average,"
        f" sum(converted) AS converted_total, sum(unconverted)::bigint AS unconverted_count,"
        f" {org_currency} AS org_currency FROM ({per_customer}) x"
        f" GROUP BY {', '.join(keys)} ORDER BY {order} LIMIT {p.add(MAX_GROUPS + 1)}",
        p.values, replica(),
    )
    return _finish(rows)
