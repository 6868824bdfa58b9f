"""Customers: filters, keyset pages, batched summaries and validated writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import AppError, ErrorCode, FieldError, InputError
from db import custom_field_values as custom_values
from db import customer_filter, search, validation
from db import exchange_rate as rates
from db.custom_field import ObjectType
from db.customer_filter import CustomerFilter
from db.enums import CustomerKind, LifecycleStage
from db.models import Customer, User
from db.pagination import Sort, Source
from db.prediction_definition import NAME
from db.sql import Params, fetch, fetch_one, row_of, violated_constraint

COLUMNS = (
    "t.id, t.organization_id, t.kind, t.name, t.email, t.phone, t.company, t.street, t.city,"
    " t.region, t.postal_code, t.country, t.stage, t.tags, t.custom_fields, t.owner_id,"
    " t.external_ref, t.email_opt_out, t.created_at, t.updated_at, t.deleted_at"
)
SORTS = {
    s.name: s
    for s in (
        Sort("CREATED_AT_DESC", "t.created_at", "datetime", descending=True),
        Sort("CREATED_AT_ASC", "t.created_at", "datetime", descending=False),
        Sort("UPDATED_AT_DESC", "t.updated_at", "datetime", descending=True),
        Sort("NAME_ASC", "lower(t.name)", "text", descending=False),
        Sort("NAME_DESC", "lower(t.name)", "text", descending=True),
        # unscored customers last either way
        Sort("CHURN_RISK_DESC", "coalesce(t.churn_risk, -1)", "number", descending=True),
        Sort("CHURN_RISK_ASC", "coalesce(t.churn_risk, 2)", "number", descending=False),
        Sort("EXPECTED_REVENUE_DESC", "coalesce(t.expected_revenue, -1)", "number",
             descending=True),
    )
}


def score_sort(name: str, *, descending: bool) -> Sort:
    """Order by a custom prediction's probability, by its name (a checked one: it is written
    into the SQL); unscored customers come last either way."""
    if not NAME.match(name):
        raise AppError(ErrorCode.BAD_USER_INPUT, f"{name!r} is not a prediction name",
                       ["orderByScore", "name"])
    missing = -1 if descending else 2
    expr = (f"coalesce((SELECT s.probability FROM customer_score s JOIN prediction_definition d"
            f" ON d.id = s.definition_id WHERE s.customer_id = t.id AND d.name = '{name}'),"
            f" {missing})")
    return Sort(f"SCORE_{'DESC' if descending else 'ASC'}:{name}", expr, "number",
                descending=descending)


# Customers with their latest scores; PostgreSQL drops the join when no score is used.
TABLE = (
    "(SELECT c.*, p.churn_risk, p.expected_revenue, p.segment FROM customer c"
    " LEFT JOIN prediction p ON p.customer_id = c.id)"
)
# Shorter terms have no trigram to use; they still work, by scanning the organization's rows.
TRIGRAM_MIN_LENGTH = 3
EDITABLE = (
    "kind", "name", "email", "phone", "company", "street", "city", "region", "postal_code",
    "country", "stage", "tags", "custom_fields", "owner_id", "external_ref", "email_opt_out",
)
UNIQUE_FIELDS = {
    "customer_email_uniq": ("email", "a customer with this email already exists"),
    "customer_external_ref_uniq": ("externalRef", "a customer with this external reference exists"),
}


@dataclass
class CustomerStats:
    """Summary of a customer's orders and interactions."""

    order_count: int = 0
    last_order_at: datetime | None = None
    last_interaction_at: datetime | None = None
    lifetime_value: list[tuple[str, Any]] = field(default_factory=list)


def source(org_id: int, f: CustomerFilter) -> Source:
    """The organization's customers matching ``f``, as a pageable source."""
    return ranked(org_id, f)[0]


def ranked(org_id: int, f: CustomerFilter) -> tuple[Source, Sort]:
    """``source`` with the ordering by relevance to ``f.search`` (newest first without one).

    The search's parameters come first after the organization, so the ordering built from one
    call fits every source built for the same filter.
    """
    params = Params()
    org = params.add(org_id)
    where = [f"t.organization_id = {org}"]
    sort, table = SORTS["CREATED_AT_DESC"], TABLE
    if f.search is not None and f.search.strip():
        found = search.match_words("t.search_text", "t.search_words", f.search, params)
        # the matches first, through the search indexes (OFFSET 0 keeps the planner from
        # walking a sort index instead and filtering every row when it misjudges how many
        # rows match, which costs seconds at a million customers when none does)
        table = (f"(SELECT t.* FROM {TABLE} t WHERE t.organization_id = {org}"
                 f" AND {found.condition} OFFSET 0)")
        sort = search.relevance(found.rank)
        f = replace(f, search=None)
    where.append("t.deleted_at IS NOT NULL" if f.deleted else "t.deleted_at IS NULL")
    where.extend(customer_filter.conditions(f, params))
    return Source(table, COLUMNS, " AND ".join(where), params), sort


async def get_many(
    *, org_id: int, ids: Sequence[int], include_deleted: bool = False
) -> dict[int, dict[str, Any]]:
    """The organization's customers with these ids, keyed by id (others are simply absent)."""
    deleted = "" if include_deleted else " AND t.deleted_at IS NULL"
    rows = await fetch(
        f"SELECT {COLUMNS} FROM customer t"
        f" WHERE t.organization_id = $1 AND t.id = ANY($2::bigint[]){deleted}",
        [org_id, list(ids)],
    )
    return {row["id"]: row for row in rows}


async def stats(*, ids: Sequence[int]) -> dict[int, CustomerStats]:
    """Order and interaction summaries for many customers in one statement."""
    rows = await fetch(
        "SELECT p.id, o.order_count, o.last_order_at, i.last_interaction_at,"
        " v.currencies, v.totals"
        " FROM unnest($1::bigint[]) AS p(id)"
        " CROSS JOIN LATERAL (SELECT count(*) AS order_count, max(placed_at) AS last_order_at"
        "   FROM customer_order WHERE customer_id = p.id) o"
        " CROSS JOIN LATERAL (SELECT max(occurred_at) AS last_interaction_at"
        "   FROM interaction WHERE customer_id = p.id) i"
        " CROSS JOIN LATERAL (SELECT array_agg(currency ORDER BY currency) AS currencies,"
        "   array_agg(total ORDER BY currency) AS totals"
        "   FROM (SELECT currency, sum(amount) AS total FROM customer_order"
        "   WHERE customer_id = p.id AND status = 'PAID'"
        "   GROUP BY currency) g) v",
        [list(ids)],
    )
    return {
        row["id"]: CustomerStats(
            order_count=row["order_count"],
            last_order_at=row["last_order_at"],
            last_interaction_at=row["last_interaction_at"],
            lifetime_value=list(zip(row["currencies"] or [], row["totals"] or [], strict=True)),
        )
        for row in rows
    }


@dataclass(frozen=True)
class LifetimeValue:
    """A customer's PAID orders in the organization's currency: per order currency, the part
    converted (each order at the rate of its day) and the part no rate covers."""

    org_currency: str
    parts: list[tuple[str, Any, Any]]  # (currency, converted, unconverted or None)


async def lifetime_values(*, org_id: int, ids: Sequence[int]) -> dict[int, LifetimeValue]:
    """The converted lifetime value of many customers in one statement, keyed by id."""
    conv = rates.converted("o.amount", "o.currency", rates.order_day("o.placed_at"), "$1",
                           "g.currency")
    rows = await fetch(
        "SELECT p.id, g.currency AS org_currency, x.currency, x.converted, x.unconverted"
        " FROM unnest($2::bigint[]) AS p(id) JOIN organization g ON g.id = $1"
        " LEFT JOIN LATERAL (SELECT o.currency, coalesce(sum(" + conv + "), 0) AS converted,"
        "   sum(o.amount) FILTER (WHERE (" + conv + ") IS NULL) AS unconverted"
        "   FROM customer_order o WHERE o.customer_id = p.id AND o.organization_id = $1"
        "   AND o.status = 'PAID' GROUP BY o.currency) x ON true ORDER BY p.id, x.currency",
        [org_id, list(ids)],
    )
    found: dict[int, LifetimeValue] = {}
    for row in rows:
        value = found.setdefault(row["id"], LifetimeValue(row["org_currency"], []))
        if row["currency"] is not None:
            value.parts.append((row["currency"], row["converted"], row["unconverted"]))
    return found


async def clean(
    org_id: int, data: dict[str, Any], *, creating: bool, customer_id: int | None = None
) -> dict[str, Any]:
    """Validate and normalise customer fields (only those present in ``data``)."""
    c = validation.Cleaner()
    out: dict[str, Any] = {}
    if creating or "name" in data:
        out["name"] = c.text("name", data.get("name"), 200, required=True)
    for key, path, limit in (
        ("company", "company", 200), ("street", "address.street", 200),
        ("city", "address.city", 100), ("region", "address.region", 100),
        ("postal_code", "address.postalCode", 20), ("external_ref", "externalRef", 100),
    ):
        if key in data:
            out[key] = c.text(path, data[key], limit)
    if data.get("country") is not None:
        out["country"] = c.apply("address.country", data["country"], validation.country)
    elif "country" in data:
        out["country"] = None
    if "email" in data:
        out["email"] = data["email"] and c.apply("email", data["email"], validation.email)
    if "phone" in data:
        region = out.get("country") or data.get("country")
        out["phone"] = data["phone"] and c.apply(
            "phone", data["phone"], lambda v: validation.phone(v, region)
        )
    if "tags" in data:
        out["tags"] = c.apply("tags", data["tags"] or [], validation.tags)
    if "custom_fields" in data:
        out["custom_fields"] = c.apply(
            "customFields", data["custom_fields"] or {}, validation.json_object
        )
    typed = await custom_values.clean_fields(
        c, org_id=org_id, object_type=ObjectType.CUSTOMER, given=out.get("custom_fields"),
        creating=creating, object_id=customer_id,
    )
    if typed is not None:
        out["custom_fields"] = typed
    for key in ("kind", "stage", "email_opt_out"):
        if key in data and data[key] is not None:
            out[key] = data[key]
    if creating:
        out.setdefault("kind", CustomerKind.PERSON)
        out.setdefault("stage", LifecycleStage.LEAD)
    if "owner_id" in data:
        out["owner_id"] = data["owner_id"]
        if data["owner_id"] is not None and not await User.exists(
            id=data["owner_id"], organization_id=org_id
        ):
            c.fail("ownerId", "user not found", ErrorCode.NOT_FOUND)
    c.raise_if_any()
    return out


def _duplicate(exc: IntegrityError) -> InputError:
    name = violated_constraint(exc)
    if name not in UNIQUE_FIELDS:
        raise exc
    path, message = UNIQUE_FIELDS[name]
    return InputError([FieldError(ErrorCode.DUPLICATE, ("input", path), message)])


async def create(*, org_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Insert a customer; invalid or duplicate fields raise InputError and write nothing."""
    values = await clean(org_id, data, creating=True)
    try:
        async with in_transaction() as conn:
            await custom_values.claim_unique(
                conn, object_type=ObjectType.CUSTOMER, org_id=org_id,
                values=values.get("custom_fields"), object_id=None)
            customer = await Customer.create(using_db=conn, organization_id=org_id, **values)
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    return row_of(customer)


async def update(*, org_id: int, customer_id: int, data: dict[str, Any]) -> dict[str, Any] | None:
    """Change the given fields of a live customer; None if there is no such customer."""
    values = await clean(org_id, data, creating=False, customer_id=customer_id)
    try:
        async with in_transaction() as conn:
            customer = await (
                Customer.filter(id=customer_id, organization_id=org_id, deleted_at__isnull=True)
                .using_db(conn)
                .select_for_update()
                .first()
            )
            if customer is None:
                return None
            await custom_values.claim_unique(
                conn, object_type=ObjectType.CUSTOMER, org_id=org_id,
                values=values.get("custom_fields"), object_id=customer_id)
            if values:
                customer.update_from_dict(values)
                await customer.save(using_db=conn)
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    return row_of(customer)


async def hold_live(
    *, org_id: int, customer_id: int, using: BaseDBAsyncClient | None = None
) -> bool:
    """Whether the customer is live, kept so until the caller's transaction ends.

    A share lock: a merge or deletion of the customer in progress is waited for and its outcome
    seen, and none can start before the caller commits, so nothing is attached to a customer
    that is gone by then.
    """
    return await fetch_one(
        "SELECT 1 FROM customer WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL"
        " FOR SHARE", [customer_id, org_id], using,
    ) is not None


async def set_deleted(*, org_id: int, customer_id: int, deleted: bool) -> dict[str, Any] | None:
    """Soft-delete or restore a customer; None if there is none in the opposite state.

    An erased customer stays deleted: there is nothing left to restore; so does one a merge
    absorbed (its history belongs to the customer it was merged into).
    """
    async with in_transaction() as conn:
        customer = await (
            Customer.filter(
                id=customer_id, organization_id=org_id, deleted_at__isnull=deleted
            )
            .using_db(conn)
            .select_for_update()
            .first()
        )
        if customer is None:
            return None
        if not deleted and (customer.merged_into_id is not None or await fetch_one(
            "SELECT 1 FROM customer_erasure WHERE customer_id = $1", [customer_id], conn
        )):
            return None
        customer.deleted_at = datetime.now(UTC) if deleted else None
        await customer.save(using_db=conn, update_fields=["deleted_at", "updated_at"])
    return row_of(customer)
