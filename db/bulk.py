"""Bulk upserts of customers and orders, matched on natural keys; one bad row never stops the rest.

A call runs in one transaction: the domain's ``clean()`` checks each row, one query finds the
stored rows of the whole batch, unique conflicts are found up front, and the rows are written in
bulk. Should a conflict slip past the checks (a concurrent writer), the batch is rewritten row by
row in savepoints so that only the conflicting rows fail. Orders live in db/bulk_orders.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import custom_field as custom_fields
from db import customer as customers
from db.bulk_orders import order_key, upsert_orders
from db.sql import fetch
from db.upsert import (
    HOLDERS,
    MAX_ROWS,
    Plan,
    RowResult,
    Table,
    check_size,
    claim_unique_values,
    differing,
    normalized_key,
    rebase,
    reject_repeated_keys,
    row_path,
    settle,
    write,
)

__all__ = ["CUSTOM_FIELDS_PATCH", "MAX_ROWS", "MatchKey", "RowResult", "customer_key",
           "order_key", "refresh_statistics", "upsert_customers", "upsert_orders"]

MatchKey = Literal["external_ref", "email"]
CUSTOMERS = Table(
    name="customer", columns=customers.COLUMNS, writable=customers.EDITABLE,
    defaults=dict.fromkeys(customers.EDITABLE)
    | {"tags": [], "custom_fields": {}, "email_opt_out": False},
    unique=customers.UNIQUE_FIELDS,
)
_PATHS = {"external_ref": "externalRef", "email": "email"}
_CONSTRAINTS = {"external_ref": "customer_external_ref_uniq", "email": "customer_email_uniq"}

# a row's partial custom fields (CSV columns): merged into the stored ones, None clears a key
CUSTOM_FIELDS_PATCH = "custom_fields_patch"


async def refresh_statistics(kind: Literal["customers", "orders"]) -> None:
    """Re-sample a table's planner statistics after it grew in bulk.

    An organization that had few rows at the last ANALYZE looks tiny to the planner, which
    then finds keys by scanning all the organization's rows instead of the unique index.
    """
    await fetch("ANALYZE customer" if kind == "customers" else "ANALYZE customer_order")


def _key_field(row: dict[str, Any], match_on: MatchKey) -> MatchKey | None:
    other: MatchKey = "email" if match_on == "external_ref" else "external_ref"
    for key_field in (match_on, other):
        raw = row.get(key_field)
        if isinstance(raw, str) and raw.strip():
            return key_field
    return None


def customer_key(row: dict[str, Any], match_on: MatchKey = "external_ref") -> str | None:
    """The key a customer row is matched on, e.g. ``external_ref:ERP-1``; None if it has none."""
    key_field = _key_field(row, match_on)
    value = normalized_key(key_field, row[key_field])[0] if key_field else None
    return f"{key_field}:{value}" if value else None


async def upsert_customers(
    *, org_id: int, rows: Sequence[dict[str, Any]], match_on: MatchKey = "external_ref"
) -> list[RowResult]:
    """Create or update customers matched on ``match_on`` (rows lacking it: on the other key)."""
    check_size(rows)
    plans = [_customer_plan(i, row, match_on) for i, row in enumerate(rows)]
    reject_repeated_keys(plans)
    async with in_transaction() as conn:
        stored = await _stored_customers(conn, org_id, [p.key for p in plans if p.key])
        for plan, row in zip(plans, rows, strict=True):
            await _clean_customer(org_id, plan, row, stored)
        await _reject_taken(conn, org_id, plans)
        await claim_unique_values(conn, org_id, custom_fields.ObjectType.CUSTOMER, plans)
        await write(conn, CUSTOMERS, org_id, plans)
    return [p.result for p in plans]


def _customer_plan(index: int, row: dict[str, Any], match_on: MatchKey) -> Plan:
    plan = Plan(index)
    key_field = _key_field(row, match_on)
    if key_field is None:
        plan.error(ErrorCode.BAD_USER_INPUT, _PATHS[match_on],
                   "an external reference or an email is needed to match the row")
        return plan
    value, errors = normalized_key(key_field, row[key_field])
    if errors:
        plan.fail(rebase(index, errors))
    else:
        plan.key, plan.key_path = f"{key_field}:{value}", _PATHS[key_field]
    return plan


async def _stored_customers(
    conn: BaseDBAsyncClient, org_id: int, keys: list[str]
) -> dict[str, dict[str, Any]]:
    """The customers holding these keys (deleted ones too, as they hold their keys)."""
    split = [key.split(":", 1) for key in keys]
    rows = await fetch(
        f"SELECT {customers.COLUMNS} FROM customer t WHERE t.id = ANY(ARRAY({HOLDERS})) FOR UPDATE",
        [org_id, [v for f, v in split if f == "external_ref"],
         [v for f, v in split if f == "email"]], conn,
    )
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["external_ref"] is not None:
            found[f"external_ref:{row['external_ref']}"] = row
        if row["email"] is not None:
            found[f"email:{row['email'].lower()}"] = row
    return found


async def _clean_customer(
    org_id: int, plan: Plan, row: dict[str, Any], stored: dict[str, dict[str, Any]]
) -> None:
    if plan.failed:
        return
    plan.existing = stored.get(plan.key or "")
    if plan.existing is not None and plan.existing["deleted_at"] is not None:
        plan.error(ErrorCode.DUPLICATE, plan.key_path,
                   "belongs to a deleted customer; restore it before updating it")
        return
    patch = row.pop(CUSTOM_FIELDS_PATCH, None)
    if patch is not None:  # some fields' values from a file: the others stay as stored
        merged = dict((plan.existing or {}).get("custom_fields") or {}) | patch
        row["custom_fields"] = {k: v for k, v in merged.items() if v is not None}
    try:
        data = differing(row, plan.existing)
        plan.values = await customers.clean(
            org_id, data, creating=plan.existing is None,
            customer_id=plan.existing["id"] if plan.existing else None,
        )
    except InputError as exc:
        plan.fail(rebase(plan.index, exc.errors))
        return
    settle(plan)


def _claims(plan: Plan) -> list[tuple[str, str]]:
    """The unique values a row is about to take (those it does not hold already)."""
    if plan.result.status not in ("created", "updated"):
        return []
    held = plan.existing or {}
    claims = []
    for key_field in ("external_ref", "email"):
        value = plan.values.get(key_field)
        if value is not None and value != held.get(key_field):
            claims.append((key_field, value.lower() if key_field == "email" else value))
    return claims


async def _reject_taken(conn: BaseDBAsyncClient, org_id: int, plans: list[Plan]) -> None:
    """Fail rows that would take an email or external reference someone else holds."""
    claims = {plan.index: _claims(plan) for plan in plans}
    wanted = {claim for row_claims in claims.values() for claim in row_claims}
    if not wanted:
        return
    holders = await _holders(conn, org_id, wanted)
    for plan in plans:
        own = plan.existing["id"] if plan.existing else -1 - plan.index
        taken = [claim for claim in claims[plan.index] if holders.get(claim, own) != own]
        if taken:
            plan.fail([
                FieldError(ErrorCode.DUPLICATE, row_path(plan.index, path), message)
                for path, message in (customers.UNIQUE_FIELDS[_CONSTRAINTS[f]] for f, _ in taken)
            ])
        else:
            holders.update(dict.fromkeys(claims[plan.index], own))


async def _holders(
    conn: BaseDBAsyncClient, org_id: int, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    rows = await fetch(
        f"SELECT t.id, t.email, t.external_ref FROM customer t WHERE t.id = ANY(ARRAY({HOLDERS}))",
        [org_id, [v for f, v in wanted if f == "external_ref"],
         [v for f, v in wanted if f == "email"]], conn,
    )
    holders: dict[tuple[str, str], int] = {}
    for row in rows:
        if row["external_ref"] is not None:
            holders[("external_ref", row["external_ref"])] = row["id"]
        if row["email"] is not None:
            holders[("email", row["email"].lower())] = row["id"]
    return holders
