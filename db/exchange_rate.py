"""Exchange rates an organization uploads, and the SQL that converts order amounts with them.

A rate says what one unit of ``currency`` is worth in the organization's currency from
``valid_on`` on, until the next rate of that currency. An order is converted at the rate in
effect on the (UTC) day it was placed; without one it is *unconverted*: analytics count and
report it instead of summing it at a wrong value or leaving it out unseen. A deal is converted
at the rate in effect on the day it closed, or today while it is open (``deal_day``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.transactions import in_transaction

from db import validation
from db.pagination import Sort, Source
from db.sql import Params, fetch, fetch_one
from db.upsert import Plan, RowResult, check_size, reject_repeated_keys

COLUMNS = "t.id, t.organization_id, t.currency, t.valid_on, t.rate, t.created_at, t.updated_at"
SORT = Sort("VALID_ON_DESC", "t.valid_on::timestamp", "datetime", descending=True)
MAX_RATE = Decimal("1e14")


def converted(amount: str, currency: str, day: str, org_id: str, org_currency: str) -> str:
    """SQL: ``amount`` (in ``currency``) in the organization's currency at the rate in effect
    on ``day``; NULL when there is none. The arguments are SQL expressions (columns qualified
    by their table's alias: a bare ``currency`` would name the rate's own)."""
    return f"{amount} * {rate_of(currency, day, org_id, org_currency)}"


def rate_of(currency: str, day: str, org_id: str, org_currency: str) -> str:
    """SQL: what one unit of ``currency`` is worth in the organization's currency on ``day``
    (1 for its own currency, the latest rate on or before the day otherwise); NULL when no
    rate covers it. Arguments as for ``converted``."""
    return (
        f"(CASE WHEN {currency} = {org_currency} THEN 1 ELSE ("
        f"SELECT r.rate FROM exchange_rate r WHERE r.organization_id = {org_id}"
        f" AND r.currency = {currency} AND r.valid_on <= {day}"
        " ORDER BY r.valid_on DESC LIMIT 1) END)"
    )


def deal_day(closed_at: str) -> str:
    """SQL: the UTC day a deal's amount is valued on: the day it closed, else today."""
    return f"(coalesce({closed_at}, now()) AT TIME ZONE 'UTC')::date"


def order_day(placed_at: str) -> str:
    """SQL: the UTC day of an order's ``placed_at`` (the day its rate is taken from)."""
    return f"({placed_at} AT TIME ZONE 'UTC')::date"


def source(org_id: int, currency: str | None) -> Source:
    """The organization's rates (of one currency if given), as a pageable source."""
    params = Params()
    where = f"t.organization_id = {params.add(org_id)}"
    if currency:
        where += f" AND t.currency = {params.add(currency.strip().upper())}"
    return Source("exchange_rate", COLUMNS, where, params)


def _rate(value: Any) -> Decimal:
    try:
        rate = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError("is not a number") from None
    if not rate.is_finite() or rate <= 0 or rate >= MAX_RATE:
        raise ValueError("must be a positive number below 10^14")
    if rate != rate.quantize(Decimal("1e-10")):
        raise ValueError("must have at most ten decimal places")
    return rate


def _clean(plan: Plan, row: dict[str, Any], org_currency: str) -> dict[str, Any]:
    c = validation.Cleaner(("rows", str(plan.index)))
    currency = c.apply("currency", row.get("currency") or "", validation.currency)
    if currency == org_currency:
        c.fail("currency", f"is the organization's currency ({org_currency}): its rate is 1")
    valid_on = row.get("valid_on")
    if not isinstance(valid_on, date):
        c.fail("validOn", "is required")
    rate = c.apply("rate", row.get("rate"), _rate)
    if c.errors:
        plan.fail(c.errors)
    return {"currency": currency, "valid_on": valid_on, "rate": rate}


def rate_key(row: dict[str, Any]) -> str | None:
    """``EUR:2026-01-31``: the currency and day a rate row sets."""
    currency, valid_on = row.get("currency"), row.get("valid_on")
    if not isinstance(currency, str) or valid_on is None:
        return None
    return f"{currency.strip().upper()}:{valid_on}"


async def set_rates(*, org_id: int, rows: Sequence[dict[str, Any]]) -> list[RowResult]:
    """Create or replace rates, one per currency and day; each row succeeds or fails alone."""
    check_size(rows)
    org = await fetch_one("SELECT currency FROM organization WHERE id = $1", [org_id])
    org_currency = str((org or {}).get("currency") or "")
    plans = [Plan(i, key=rate_key(row), key_path="validOn") for i, row in enumerate(rows)]
    values = [_clean(plan, row, org_currency) for plan, row in zip(plans, rows, strict=True)]
    reject_repeated_keys(plans)
    good = [(p, v) for p, v in zip(plans, values, strict=True) if not p.failed]
    if not good:
        return [p.result for p in plans]
    async with in_transaction() as conn:
        written = await fetch(
            "WITH v AS (SELECT * FROM unnest($2::text[], $3::date[], $4::numeric[], $5::int[])"
            " AS v(currency, valid_on, rate, n)),"
            " old AS (SELECT t.currency, t.valid_on, t.rate FROM exchange_rate t JOIN v"
            " ON t.organization_id = $1 AND t.currency = v.currency AND t.valid_on = v.valid_on)"
            " INSERT INTO exchange_rate AS t (organization_id, currency, valid_on, rate)"
            " SELECT $1, v.currency, v.valid_on, v.rate FROM v ORDER BY v.n"
            " ON CONFLICT (organization_id, currency, valid_on) DO UPDATE SET rate = EXCLUDED.rate,"
            " updated_at = CASE WHEN t.rate = EXCLUDED.rate THEN t.updated_at ELSE now() END"
            f" RETURNING {COLUMNS}, (SELECT o.rate FROM old o WHERE o.currency = t.currency"
            " AND o.valid_on = t.valid_on) AS old_rate",
            [org_id, [v["currency"] for _, v in good], [v["valid_on"] for _, v in good],
             [v["rate"] for _, v in good], list(range(len(good)))], conn,
        )
    by_key = {(r["currency"], r["valid_on"]): r for r in written}
    for plan, value in good:
        row = by_key[(value["currency"], value["valid_on"])]
        old = row.pop("old_rate")
        status = "created" if old is None else "unchanged" if old == row["rate"] else "updated"
        plan.result = RowResult(plan.index, status, row)  # type: ignore[arg-type]
    return [p.result for p in plans]


async def all_rates(*, org_id: int, after: tuple[str, date] | None, limit: int) -> list[
    dict[str, Any]
]:
    """Rates in (currency, day) order after ``after``, for the CSV export."""
    key = after or ("", date(1, 1, 1))
    return await fetch(
        f"SELECT {COLUMNS} FROM exchange_rate t WHERE t.organization_id = $1"
        " AND (t.currency, t.valid_on) > ($2, $3) ORDER BY t.currency, t.valid_on LIMIT $4",
        [org_id, key[0], key[1], limit],
    )
