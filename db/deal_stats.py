"""Deal figures: sums and weighted pipeline value grouped by stage, owner or month, and the
deal-based revenue forecast (amount x probability by expected close month)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from db import deal as deals
from db.sales_enums import DealStatus
from db.sql import fetch

GroupBy = Literal["STAGE", "OWNER", "MONTH"]
# what each grouping groups on (a stage id, an owner id or null, a month's first day or null)
GROUP_KEYS: dict[GroupBy, str] = {
    "STAGE": "t.stage_id",
    "OWNER": "t.owner_id",
    "MONTH": "date_trunc('month', t.expected_close_on)::date",
}
WEIGHTED = f"sum(t.amount * ({deals.EFFECTIVE_PROBABILITY}) / 100)"
org_currency = deals.org_currency


async def grouped(*, org_id: int, group_by: GroupBy, f: deals.DealFilter) -> list[dict[str, Any]]:
    """Per group and currency: count, sum and weighted sum of the deals matching ``f``.

    Rows carry ``group_key`` and, for stages, the stage's name and place; ordered by stage
    position, owner id or month (nulls last), then currency. The sums come converted to the
    organization's currency too (``deals.converted_sums``).
    """
    source = deals.source(org_id, f)
    params = source.params
    key = GROUP_KEYS[group_by]
    join, sums = deals.converted_sums(org_id, params)
    return await fetch(
        f"SELECT {key} AS group_key, t.currency, count(*) AS n, sum(t.amount) AS total,"
        f" {WEIGHTED} AS weighted, min(t.stage_position) AS stage_position,"
        f" min(t.pipeline_id) AS pipeline_id, {sums}"
        f" FROM {source.table} t{join} WHERE {source.where}"
        f" GROUP BY {key}, t.currency"
        f" ORDER BY {'min(t.stage_position), ' if group_by == 'STAGE' else ''}"
        f"{key} NULLS LAST, t.currency",
        params.values,
    )


async def forecast(
    *, org_id: int, start: date, months: int, pipeline_id: int | None
) -> list[dict[str, Any]]:
    """Open deals by expected close month from ``start`` for ``months`` months, per currency.

    Deals expected before ``start`` come under ``bucket`` 'OVERDUE', deals without a date
    under 'UNDATED', the rest under 'MONTH' with their month's first day.
    """
    f = deals.DealFilter(statuses=(DealStatus.OPEN,), pipeline_id=pipeline_id)
    source = deals.source(org_id, f)
    p = source.params
    first, end = p.add(start), p.add(add_months(start, months))
    bucket = (f"CASE WHEN t.expected_close_on IS NULL THEN 'UNDATED'"
              f" WHEN t.expected_close_on < {first} THEN 'OVERDUE' ELSE 'MONTH' END")
    month = f"CASE WHEN t.expected_close_on >= {first} THEN" \
            " date_trunc('month', t.expected_close_on)::date END"
    join, sums = deals.converted_sums(org_id, p)
    return await fetch(
        f"SELECT {bucket} AS bucket, {month} AS month, t.currency, count(*) AS n,"
        f" sum(t.amount) AS total, {WEIGHTED} AS weighted, {sums}"
        f" FROM {source.table} t{join} WHERE {source.where}"
        f" AND (t.expected_close_on IS NULL OR t.expected_close_on < {end})"
        f" GROUP BY 1, 2, t.currency ORDER BY 2 NULLS FIRST, 1, t.currency",
        p.values,
    )


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
