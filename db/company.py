"""Companies (accounts): filters, keyset pages and validated writes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import custom_field_values as custom_values
from db import search, validation
from db.custom_field import ObjectType
from db.models import User
from db.pagination import Sort, Source
from db.sales_enums import CompanySize
from db.sales_models import Company
from db.sql import Params, fetch, row_of, violated_constraint

COLUMNS = (
    "t.id, t.organization_id, t.name, t.domain, t.industry, t.size, t.street, t.city, t.region,"
    " t.postal_code, t.country, t.custom_fields, t.owner_id, t.created_at, t.updated_at,"
    " t.deleted_at, t.merged_into_id"
)
SORTS = {
    s.name: s
    for s in (
        Sort("CREATED_AT_DESC", "t.created_at", "datetime", descending=True),
        Sort("CREATED_AT_ASC", "t.created_at", "datetime", descending=False),
        Sort("UPDATED_AT_DESC", "t.updated_at", "datetime", descending=True),
        Sort("NAME_ASC", "lower(t.name)", "text", descending=False),
        Sort("NAME_DESC", "lower(t.name)", "text", descending=True),
    )
}
# the expression company_search_trgm_idx indexes
SEARCH_EXPR = "lower(t.name || ' ' || coalesce(t.domain, ''))"
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class CompanyFilter:
    """Which companies to list; every given condition must hold."""

    search: str | None = None
    domains: Sequence[str] = ()
    industries: Sequence[str] = ()
    sizes: Sequence[CompanySize] = ()
    owner_ids: Sequence[int] = ()
    countries: Sequence[str] = ()
    no_activity_within_days: int | None = None
    custom_fields: Sequence[Any] = ()  # raw until with_custom_fields types them
    deleted: bool = False


def custom_field_keys(f: CompanyFilter) -> set[str]:
    """The custom field keys ``f`` tests."""
    return {c.key if isinstance(c, custom_values.Condition) else c["key"]
            for c in f.custom_fields}


def _quiet(cutoff: str) -> str:
    """No activity since ``cutoff``: no interaction with a current member of the company, and
    none of its live deals created or moved to a stage."""
    return (
        "NOT EXISTS (SELECT 1 FROM company_membership m JOIN interaction i"
        " ON i.customer_id = m.customer_id WHERE m.company_id = t.id AND m.ended_on IS NULL"
        f" AND i.occurred_at >= {cutoff})"
        " AND NOT EXISTS (SELECT 1 FROM deal d WHERE d.company_id = t.id"
        f" AND d.deleted_at IS NULL AND (d.created_at >= {cutoff} OR"
        f" d.stage_entered_at >= {cutoff}))"
    )


async def with_custom_fields(org_id: int, f: CompanyFilter) -> CompanyFilter:
    """``f`` with its custom field conditions typed by their definitions."""
    return replace(f, custom_fields=await custom_values.resolve(
        org_id=org_id, object_type=ObjectType.COMPANY, raw=f.custom_fields,
        path="filter.customFields"))


def normalise_domain(value: str) -> str:
    """``https://www.Example.com/about`` as ``example.com``; ValueError if it is no domain."""
    text = _SCHEME.sub("", value.strip().lower())
    host = re.split(r"[/?#]", text, maxsplit=1)[0].rpartition("@")[2].split(":")[0].rstrip(".")
    host = host.removeprefix("www.")
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("is not a valid domain such as example.com") from None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        raise ValueError("is not a valid domain such as example.com")
    return host


def source(org_id: int, f: CompanyFilter) -> Source:
    """The organization's companies matching ``f``, as a pageable source."""
    return ranked(org_id, f)[0]


def ranked(org_id: int, f: CompanyFilter) -> tuple[Source, Sort]:
    """``source`` with the ordering by relevance to ``f.search`` (newest first without one)."""
    params = Params()
    where = [f"t.organization_id = {params.add(org_id)}",
             "t.deleted_at IS NOT NULL" if f.deleted else "t.deleted_at IS NULL"]
    sort = SORTS["CREATED_AT_DESC"]
    if f.search and f.search.strip():
        found = search.match(SEARCH_EXPR, f.search, params)
        where.append(found.condition)
        sort = search.relevance(found.rank)
    for column, values in (("domain", f.domains), ("industry", f.industries),
                           ("size", [s.value for s in f.sizes]), ("country", f.countries)):
        if values:
            where.append(f"t.{column} = ANY({params.add(list(values))}::text[])")
    if f.owner_ids:
        where.append(f"t.owner_id = ANY({params.add(list(f.owner_ids))}::bigint[])")
    for cond in f.custom_fields:
        if not isinstance(cond, custom_values.Condition):
            raise TypeError("custom field conditions must be resolved (with_custom_fields)")
        where.extend(custom_values.conditions(cond, params))
    if f.no_activity_within_days is not None:
        where.append(_quiet(params.add(
            datetime.now(UTC) - timedelta(days=f.no_activity_within_days))))
    return Source("company", COLUMNS, " AND ".join(where), params), sort


async def get_many(
    *, org_id: int, ids: Sequence[int], include_deleted: bool = False
) -> dict[int, dict[str, Any]]:
    """The organization's companies with these ids, keyed by id."""
    deleted = "" if include_deleted else " AND t.deleted_at IS NULL"
    rows = await fetch(
        f"SELECT {COLUMNS} FROM company t"
        f" WHERE t.organization_id = $1 AND t.id = ANY($2::bigint[]){deleted}",
        [org_id, list(ids)],
    )
    return {row["id"]: row for row in rows}


async def owner_exists(org_id: int, user_id: int | None) -> bool:
    """Whether ``user_id`` (None counts) is a user of the organization."""
    return user_id is None or await User.exists(id=user_id, organization_id=org_id)


async def clean(
    org_id: int, data: dict[str, Any], *, creating: bool, prefix: tuple[str, ...] = ("input",),
    company_id: int | None = None,
) -> dict[str, Any]:
    """Validate and normalise company fields (only those present in ``data``)."""
    c = validation.Cleaner(prefix)
    out: dict[str, Any] = {}
    if creating or "name" in data:
        out["name"] = c.text("name", data.get("name"), 200, required=True)
    for key, path, limit in (
        ("industry", "industry", 100), ("street", "address.street", 200),
        ("city", "address.city", 100), ("region", "address.region", 100),
        ("postal_code", "address.postalCode", 20),
    ):
        if key in data:
            out[key] = c.text(path, data[key], limit)
    if "domain" in data:
        out["domain"] = data["domain"] and c.apply("domain", data["domain"], normalise_domain)
    if "country" in data:
        out["country"] = data["country"] and c.apply(
            "address.country", data["country"], validation.country
        )
    if "custom_fields" in data:
        out["custom_fields"] = c.apply(
            "customFields", data["custom_fields"] or {}, validation.json_object
        )
    typed = await custom_values.clean_fields(
        c, org_id=org_id, object_type=ObjectType.COMPANY, given=out.get("custom_fields"),
        creating=creating, object_id=company_id,
    )
    if typed is not None:
        out["custom_fields"] = typed
    if "size" in data:
        out["size"] = data["size"]
    if "owner_id" in data:
        out["owner_id"] = data["owner_id"]
        if not await owner_exists(org_id, data["owner_id"]):
            c.fail("ownerId", "user not found", ErrorCode.NOT_FOUND)
    c.raise_if_any()
    return out


def duplicate(exc: IntegrityError, prefix: tuple[str, ...] = ("input",)) -> InputError:
    """The payload error of a second live company with the same domain."""
    if violated_constraint(exc) != "company_domain_uniq":
        raise exc
    return InputError([FieldError(ErrorCode.DUPLICATE, (*prefix, "domain"),
                                  "a company with this domain already exists")])


async def create(*, org_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Insert a company; invalid or duplicate fields raise InputError and write nothing."""
    values = await clean(org_id, data, creating=True)
    try:
        async with in_transaction() as conn:
            await custom_values.claim_unique(
                conn, object_type=ObjectType.COMPANY, org_id=org_id,
                values=values.get("custom_fields"), object_id=None)
            company = await Company.create(using_db=conn, organization_id=org_id, **values)
    except IntegrityError as exc:
        raise duplicate(exc) from None
    return row_of(company)


async def update(*, org_id: int, company_id: int, data: dict[str, Any]) -> dict[str, Any] | None:
    """Change the given fields of a live company; None if there is no such company."""
    values = await clean(org_id, data, creating=False, company_id=company_id)
    try:
        async with in_transaction() as conn:
            company = await (
                Company.filter(id=company_id, organization_id=org_id, deleted_at__isnull=True)
                .using_db(conn).select_for_update().first()
            )
            if company is None:
                return None
            await custom_values.claim_unique(
                conn, object_type=ObjectType.COMPANY, org_id=org_id,
                values=values.get("custom_fields"), object_id=company_id)
            if values:
                company.update_from_dict(values)
                await company.save(using_db=conn)
    except IntegrityError as exc:
        raise duplicate(exc) from None
    return row_of(company)


async def set_deleted(*, org_id: int, company_id: int, deleted: bool) -> dict[str, Any] | None:
    """Soft-delete or restore a company; None if there is none in the opposite state."""
    try:
        async with in_transaction() as conn:
            company = await (
                Company.filter(id=company_id, organization_id=org_id,
                               deleted_at__isnull=deleted)
                .using_db(conn).select_for_update().first()
            )
            if company is None:
                return None
            company.deleted_at = datetime.now(UTC) if deleted else None
            await company.save(using_db=conn, update_fields=["deleted_at", "updated_at"])
    except IntegrityError as exc:  # restoring beside a live company of the same domain
        raise duplicate(exc, ()) from None
    return row_of(company)
