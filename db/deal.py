"""Deals: filters (custom fields too), keyset pages, batched people and stage history, and
stats by stage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db import company as companies
from db import custom_field_values as custom_values
from db import customer as customers
from db import exchange_rate as rates
from db import search
from db.custom_field import ObjectType
from db.pagination import Sort, Source
from db.sales_enums import DealStatus
from db.sql import Params, fetch, fetch_one

# deals with what their stage says (the stage's default probability, its name and place)
TABLE = (
    "(SELECT d.*, s.probability AS stage_probability, s.name AS stage_name,"
    " s.position AS stage_position FROM deal d JOIN pipeline_stage s ON s.id = d.stage_id)"
)
COLUMNS = (
    "t.id, t.organization_id, t.name, t.amount, t.currency, t.pipeline_id, t.stage_id,"
    " t.probability, t.stage_probability, t.expected_close_on, t.status, t.lost_reason,"
    " t.closed_at, t.owner_id, t.company_id, t.stage_entered_at, t.created_at, t.updated_at,"
    " t.deleted_at, t.external_ref, t.custom_fields"
)
HISTORY_COLUMNS = (
    "h.id, h.deal_id, h.from_stage_id, h.from_stage_name, h.to_stage_id, h.to_stage_name,"
    " h.changed_by_id, h.changed_at"
)
SORTS = {
    s.name: s
    for s in (
        Sort("CREATED_AT_DESC", "t.created_at", "datetime", descending=True),
        Sort("CREATED_AT_ASC", "t.created_at", "datetime", descending=False),
        Sort("UPDATED_AT_DESC", "t.updated_at", "datetime", descending=True),
        Sort("NAME_ASC", "lower(t.name)", "text", descending=False),
        Sort("AMOUNT_DESC", "t.amount::float8", "number", descending=True),
        # deals without a date last
        Sort("EXPECTED_CLOSE_ASC", "coalesce(t.expected_close_on, '9999-12-31')::timestamp",
             "datetime", descending=False),
        Sort("STAGE_ENTERED_AT_DESC", "t.stage_entered_at", "datetime", descending=True),
    )
}
# the expression deal_name_trgm_idx indexes
NAME_EXPR = "lower(t.name)"
# the probability that counts: won deals are certain, lost ones are not going to happen
EFFECTIVE_PROBABILITY = (
    "CASE t.status WHEN 'WON' THEN 100 WHEN 'LOST' THEN 0"
    " ELSE coalesce(t.probability, t.stage_probability) END"
)


@dataclass(frozen=True)
class DealFilter:
    """Which deals to list; every given condition must hold."""

    search: str | None = None
    statuses: Sequence[DealStatus] = ()
    pipeline_id: int | None = None
    stage_ids: Sequence[int] = ()
    owner_ids: Sequence[int] = ()
    company_ids: Sequence[int] = ()
    person_id: int | None = None
    expected_close_after: date | None = None
    expected_close_before: date | None = None
    min_amount: Decimal | None = None
    custom_fields: Sequence[Any] = ()  # raw until with_custom_fields types them
    deleted: bool = False


async def with_custom_fields(org_id: int, f: DealFilter) -> DealFilter:
    """``f`` with its custom field conditions typed by their definitions."""
    return replace(f, custom_fields=await custom_values.resolve(
        org_id=org_id, object_type=ObjectType.DEAL, raw=f.custom_fields,
        path="filter.customFields"))


def custom_field_keys(f: DealFilter) -> set[str]:
    """The custom field keys ``f`` tests."""
    return {c.key if isinstance(c, custom_values.Condition) else c["key"]
            for c in f.custom_fields}


def converted_sums(org_id: int, params: Params) -> tuple[str, str]:
    """A join giving each deal ``t`` its exchange rate (``x.rate``: NULL when none covers its
    currency on its day, see ``rates.deal_day``), and the aggregates it allows: the amount and
    weighted amount converted to the organization's currency, and the parts left unconverted."""
    org = params.add(org_id)
    org_currency = f"(SELECT currency FROM organization WHERE id = {org})"
    rate = rates.rate_of("t.currency", rates.deal_day("t.closed_at"), org, org_currency)
    weighted = f"t.amount * ({EFFECTIVE_PROBABILITY}) / 100"
    return (
        f" LEFT JOIN LATERAL (SELECT {rate} AS rate) x ON true",
        "sum(t.amount * x.rate) AS total_converted,"
        " sum(t.amount) FILTER (WHERE x.rate IS NULL) AS total_unconverted,"
        f" sum({weighted} * x.rate) AS weighted_converted,"
        f" sum({weighted}) FILTER (WHERE x.rate IS NULL) AS weighted_unconverted",
    )


async def org_currency(org_id: int) -> str:
    """The organization's currency (what deal figures are converted to)."""
    row = await fetch_one("SELECT currency FROM organization WHERE id = $1", [org_id])
    return str((row or {}).get("currency") or "")


def effective_probability(row: Any) -> int:
    """The probability a deal row counts with (see EFFECTIVE_PROBABILITY)."""
    if row["status"] == DealStatus.WON:
        return 100
    if row["status"] == DealStatus.LOST:
        return 0
    chosen = row["probability"]
    return int(chosen if chosen is not None else row["stage_probability"])


def _search(org: str, term: str, params: Params) -> search.Match:
    """Deals by name, or by their company's name or domain (both trigram-indexed)."""
    by_name = search.match(NAME_EXPR, term, params)
    by_company = search.match(companies.SEARCH_EXPR, term, params)
    return search.Match(
        f"({by_name.condition} OR t.company_id IN (SELECT t.id FROM company t"
        f" WHERE t.organization_id = {org} AND t.deleted_at IS NULL"
        f" AND {by_company.condition}))",
        by_name.rank,
    )


def _conditions(org_id: int, f: DealFilter, params: Params) -> str:
    return _ranked_conditions(org_id, f, params)[0]


def _ranked_conditions(org_id: int, f: DealFilter, params: Params) -> tuple[str, Sort]:
    org = params.add(org_id)
    where = [f"t.organization_id = {org}",
             "t.deleted_at IS NOT NULL" if f.deleted else "t.deleted_at IS NULL"]
    sort = SORTS["CREATED_AT_DESC"]
    if f.search and f.search.strip():
        found = _search(org, f.search, params)
        where.append(found.condition)
        sort = search.relevance(found.rank)
    if f.statuses:
        where.append(f"t.status = ANY({params.add([s.value for s in f.statuses])}::text[])")
    if f.pipeline_id is not None:
        where.append(f"t.pipeline_id = {params.add(f.pipeline_id)}")
    for column, ids in (("stage_id", f.stage_ids), ("owner_id", f.owner_ids),
                        ("company_id", f.company_ids)):
        if ids:
            where.append(f"t.{column} = ANY({params.add(list(ids))}::bigint[])")
    if f.person_id is not None:
        where.append("EXISTS (SELECT 1 FROM deal_person x WHERE x.deal_id = t.id"
                     f" AND x.customer_id = {params.add(f.person_id)})")
    if f.expected_close_after is not None:
        where.append(f"t.expected_close_on >= {params.add(f.expected_close_after)}")
    if f.expected_close_before is not None:
        where.append(f"t.expected_close_on < {params.add(f.expected_close_before)}")
    if f.min_amount is not None:
        where.append(f"t.amount >= {params.add(f.min_amount)}")
    for cond in f.custom_fields:
        if not isinstance(cond, custom_values.Condition):
            raise TypeError("custom field conditions must be resolved (with_custom_fields)")
        where.extend(custom_values.conditions(cond, params))
    return " AND ".join(where), sort


def source(org_id: int, f: DealFilter) -> Source:
    """The organization's deals matching ``f``, as a pageable source."""
    return ranked(org_id, f)[0]


def ranked(org_id: int, f: DealFilter) -> tuple[Source, Sort]:
    """``source`` with the ordering by relevance to ``f.search`` (newest first without one)."""
    params = Params()
    where, sort = _ranked_conditions(org_id, f, params)
    return Source(TABLE, COLUMNS, where, params), sort


async def get_many(
    *, org_id: int, ids: Sequence[int], using: BaseDBAsyncClient | None = None
) -> dict[int, dict[str, Any]]:
    """The organization's live deals with these ids, keyed by id."""
    rows = await fetch(
        f"SELECT {COLUMNS} FROM {TABLE} t WHERE t.organization_id = $1"
        " AND t.id = ANY($2::bigint[]) AND t.deleted_at IS NULL", [org_id, list(ids)], using,
    )
    return {row["id"]: row for row in rows}


async def get(
    *, org_id: int, deal_id: int, using: BaseDBAsyncClient | None = None,
    include_deleted: bool = False,
) -> dict[str, Any] | None:
    """One deal of the organization."""
    deleted = "" if include_deleted else " AND t.deleted_at IS NULL"
    return await fetch_one(
        f"SELECT {COLUMNS} FROM {TABLE} t WHERE t.organization_id = $1 AND t.id = $2{deleted}",
        [org_id, deal_id], using,
    )


async def people(*, org_id: int, deal_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The live people of many deals in one statement, keyed by deal id."""
    rows = await fetch(
        f"SELECT x.deal_id AS deal_id_, {customers.COLUMNS} FROM deal_person x"
        " JOIN customer t ON t.id = x.customer_id AND t.deleted_at IS NULL"
        " WHERE x.organization_id = $1 AND x.deal_id = ANY($2::bigint[])"
        " ORDER BY x.deal_id, x.id", [org_id, list(deal_ids)],
    )
    found: dict[int, list[dict[str, Any]]] = {pk: [] for pk in deal_ids}
    for row in rows:
        found[row.pop("deal_id_")].append(row)
    return found


async def history(*, org_id: int, deal_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The stage history of many deals in one statement, oldest first, keyed by deal id."""
    rows = await fetch(
        f"SELECT {HISTORY_COLUMNS} FROM deal_stage_change h WHERE h.organization_id = $1"
        " AND h.deal_id = ANY($2::bigint[]) ORDER BY h.deal_id, h.changed_at, h.id",
        [org_id, list(deal_ids)],
    )
    found: dict[int, list[dict[str, Any]]] = {pk: [] for pk in deal_ids}
    for row in rows:
        found[row["deal_id"]].append(row)
    return found


async def stats(*, org_id: int, pipeline_id: int, f: DealFilter) -> list[dict[str, Any]]:
    """Per stage of the pipeline (in order) and currency: count, sum and weighted sum, and
    both converted to the organization's currency (see ``converted_sums``)."""
    params = Params()
    conditions = _conditions(org_id, f, params)
    pipeline = params.add(pipeline_id)
    join, sums = converted_sums(org_id, params)
    return await fetch(
        "SELECT s.id AS stage_id, g.currency, coalesce(g.n, 0) AS n, g.total, g.weighted,"
        " g.total_converted, g.total_unconverted, g.weighted_converted, g.weighted_unconverted"
        " FROM pipeline_stage s LEFT JOIN ("
        f"  SELECT t.stage_id, t.currency, count(*) AS n, sum(t.amount) AS total,"
        f"  sum(t.amount * ({EFFECTIVE_PROBABILITY}) / 100) AS weighted, {sums}"
        f"  FROM {TABLE} t{join} WHERE {conditions} AND t.pipeline_id = {pipeline}"
        "  GROUP BY t.stage_id, t.currency) g ON g.stage_id = s.id"
        f" WHERE s.pipeline_id = {pipeline} ORDER BY s.position, s.id, g.currency",
        params.values,
    )
