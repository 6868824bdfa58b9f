"""People at companies: memberships with title, role, primary flag and dates (history stays)."""

from __future__ import annotations

from datetime import date
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import customer as customers
from db import validation
from db.pagination import Sort, Source
from db.sql import Params, fetch, fetch_one, violated_constraint

COLUMNS = (
    "t.id, t.organization_id, t.company_id, t.customer_id, t.title, t.role, t.is_primary,"
    " t.started_on, t.ended_on, t.created_at, t.updated_at"
)
# current memberships first, then the latest ended; oldest start first among current ones
SORT = Sort("CURRENT_FIRST", "(t.ended_on IS NOT NULL)::int", "number", descending=False)
# memberships whose company and person are both live
_LIVE = (
    "(SELECT m.* FROM company_membership m"
    " JOIN company c ON c.id = m.company_id AND c.deleted_at IS NULL"
    " JOIN customer p ON p.id = m.customer_id AND p.deleted_at IS NULL)"
)


def source(org_id: int, current_only: bool) -> Source:
    """The organization's memberships of live companies and people."""
    params = Params()
    where = f"t.organization_id = {params.add(org_id)}"
    if current_only:
        where += " AND t.ended_on IS NULL"
    return Source(_LIVE, COLUMNS, where, params)


async def _hold_company(org_id: int, company_id: int, conn: BaseDBAsyncClient) -> bool:
    return await fetch_one(
        "SELECT 1 FROM company WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL"
        " FOR SHARE", [company_id, org_id], conn,
    ) is not None


def _clean(data: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    c = validation.Cleaner()
    out: dict[str, Any] = {}
    for key, limit in (("title", 200), ("role", 100)):
        if key in data:
            out[key] = c.text(key, data[key], limit)
    for key in ("started_on", "ended_on"):
        if key in data:
            out[key] = data[key]
    if data.get("is_primary") is not None:
        out["is_primary"] = data["is_primary"]
    merged = {**(before or {}), **out}
    started: date | None = merged.get("started_on")
    ended: date | None = merged.get("ended_on")
    if started and ended and ended < started:
        c.fail("endedOn", "must not be before startedOn")
    c.raise_if_any()
    return out


async def _unset_other_primary(
    conn: BaseDBAsyncClient, customer_id: int, keep: int | None
) -> None:
    """A person has one current primary company: a new primary replaces the old one."""
    await fetch(
        "UPDATE company_membership SET is_primary = false, updated_at = now()"
        " WHERE customer_id = $1 AND is_primary AND ended_on IS NULL AND id <> $2",
        [customer_id, keep or 0], conn,
    )


async def link(
    *, org_id: int, company_id: int, customer_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    """A person starts (or started) at a company; unknown ids raise InputError."""
    values = _clean(data, None)
    async with in_transaction() as conn:
        errors = []
        if not await _hold_company(org_id, company_id, conn):
            errors.append(FieldError(ErrorCode.NOT_FOUND, ("input", "companyId"),
                                     "company not found"))
        if not await customers.hold_live(org_id=org_id, customer_id=customer_id, using=conn):
            errors.append(FieldError(ErrorCode.NOT_FOUND, ("input", "customerId"),
                                     "customer not found"))
        if errors:
            raise InputError(errors)
        if values.get("is_primary") and values.get("ended_on") is None:
            await _unset_other_primary(conn, customer_id, None)
        row = await fetch_one(
            "INSERT INTO company_membership AS t (organization_id, company_id, customer_id,"
            " title, role, is_primary, started_on, ended_on, created_at, updated_at)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now()) RETURNING {COLUMNS}",
            [org_id, company_id, customer_id, values.get("title"), values.get("role"),
             values.get("is_primary", False), values.get("started_on"),
             values.get("ended_on")], conn,
        )
    assert row is not None
    return row


async def update(
    *, org_id: int, membership_id: int, data: dict[str, Any]
) -> dict[str, Any] | None:
    """Change a membership (ending it keeps it as history); None if there is none."""
    async with in_transaction() as conn:
        before = await fetch_one(
            f"SELECT {COLUMNS} FROM company_membership t WHERE t.id = $1"
            " AND t.organization_id = $2 FOR UPDATE", [membership_id, org_id], conn,
        )
        if before is None:
            return None
        values = _clean(data, before)
        after = {**before, **values}
        if after["is_primary"] and after["ended_on"] is None:
            await _unset_other_primary(conn, before["customer_id"], membership_id)
        if not values:
            return before
        params = Params()
        sets = ", ".join(f"{k} = {params.add(v)}" for k, v in values.items())
        try:
            row = await fetch_one(
                f"UPDATE company_membership t SET {sets}, updated_at = now()"
                f" WHERE t.id = {params.add(membership_id)} RETURNING {COLUMNS}",
                params.values, conn,
            )
        except IntegrityError as exc:
            if violated_constraint(exc) != "company_membership_primary_uniq":
                raise
            raise InputError([FieldError(ErrorCode.DUPLICATE, ("input", "isPrimary"),
                                         "the person has another primary company")]) from None
    return row


async def unlink(*, org_id: int, membership_id: int) -> dict[str, Any] | None:
    """Remove a membership entered by mistake (ending one keeps the history instead)."""
    return await fetch_one(
        f"DELETE FROM company_membership t WHERE t.id = $1 AND t.organization_id = $2"
        f" RETURNING {COLUMNS}", [membership_id, org_id],
    )


async def get_many(*, org_id: int, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Memberships by id."""
    rows = await fetch(
        f"SELECT {COLUMNS} FROM company_membership t WHERE t.organization_id = $1"
        " AND t.id = ANY($2::bigint[])", [org_id, ids],
    )
    return {row["id"]: row for row in rows}
