"""Bulk upserts of orders, matched on their external reference (see db/bulk.py for the scheme)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import order as orders
from db import product as products
from db.enums import OrderStatus
from db.sql import fetch
from db.upsert import (
    HOLDERS,
    Plan,
    RowResult,
    Table,
    check_size,
    differing,
    normalized_key,
    rebase,
    reject_repeated_keys,
    row_path,
    settle,
    write,
)

ORDERS = Table(
    name="customer_order", columns=orders.COLUMNS,
    writable=("customer_id", "external_ref", "amount", "currency", "status", "placed_at",
              "line_items"),
    defaults={"line_items": []},
    unique={"customer_order_external_ref_uniq": (
        "externalRef", "an order with this external reference exists")},
)
_REQUIRED = {"amount": "amount", "currency": "currency", "placed_at": "placedAt"}
_PATHS = {"customer_id": "customerId", "customer_external_ref": "customerExternalRef",
          "customer_email": "customerEmail"}


def order_key(row: dict[str, Any]) -> str | None:
    """The key an order row is matched on (its normalized external reference)."""
    return normalized_key("external_ref", row.get("external_ref"))[0]


async def upsert_orders(*, org_id: int, rows: Sequence[dict[str, Any]]) -> list[RowResult]:
    """Create or update orders matched on their external reference.

    A row names its customer by ``customer_id``, ``customer_external_ref`` or ``customer_email``
    (a live customer of the organization); None values count as absent.
    """
    check_size(rows)
    data = [{k: v for k, v in row.items() if v is not None} for row in rows]
    plans = [_order_plan(i, row) for i, row in enumerate(data)]
    reject_repeated_keys(plans)
    async with in_transaction() as conn:
        stored = await _stored_orders(conn, org_id, [p.key for p in plans if p.key])
        owners = await _order_customers(conn, org_id, data)
        for plan, row in zip(plans, data, strict=True):
            if not plan.failed:
                plan.existing = stored.get(plan.key or "")
                await _clean_order(org_id, plan, row, owners)
        await _check_skus(conn, org_id, plans)
        await write(conn, ORDERS, org_id, plans)
    return [p.result for p in plans]


def _order_plan(index: int, row: dict[str, Any]) -> Plan:
    plan = Plan(index, key_path="externalRef")
    if not str(row.get("external_ref") or "").strip():
        plan.error(ErrorCode.BAD_USER_INPUT, "externalRef", "is required to match orders")
        return plan
    value, errors = normalized_key("external_ref", row["external_ref"])
    if errors:
        plan.fail(rebase(index, errors))
    else:
        plan.key = value
    return plan


async def _stored_orders(
    conn: BaseDBAsyncClient, org_id: int, refs: list[str]
) -> dict[str, dict[str, Any]]:
    rows = await fetch(
        f"SELECT {orders.COLUMNS} FROM customer_order t WHERE t.id = ANY(ARRAY("
        "SELECT x.id FROM unnest($2::text[]) AS k(ref) CROSS JOIN LATERAL (SELECT o.id"
        " FROM customer_order o WHERE o.organization_id = $1 AND o.external_ref IS NOT NULL"
        " AND o.external_ref = k.ref LIMIT 1) x)) FOR UPDATE",
        [org_id, refs], conn,
    )
    return {row["external_ref"]: row for row in rows}


async def _order_customers(
    conn: BaseDBAsyncClient, org_id: int, rows: list[dict[str, Any]]
) -> dict[str, int]:
    """Ids of the live customers the rows name, keyed like ``_customer_ref`` keys them."""
    ids = {int(r["customer_id"]) for r in rows if "customer_id" in r}
    refs = {str(r["customer_external_ref"]).strip() for r in rows if "customer_external_ref" in r}
    emails = {str(r["customer_email"]).strip().lower() for r in rows if "customer_email" in r}
    if not ids and not refs and not emails:
        return {}
    found = await fetch(
        f"SELECT t.id, t.email, t.external_ref FROM customer t"
        f" WHERE (t.id = ANY(ARRAY({HOLDERS})) OR (t.organization_id = $1 AND t.id = ANY($4)))"
        # held live until commit, as for a single order (db/customer.py hold_live)
        " AND t.deleted_at IS NULL FOR SHARE",
        [org_id, list(refs), list(emails), list(ids)], conn,
    )
    keyed = {f"customer_id:{r['id']}": r["id"] for r in found}
    keyed |= {f"customer_external_ref:{r['external_ref']}": r["id"]
              for r in found if r["external_ref"]}
    return keyed | {f"customer_email:{r['email'].lower()}": r["id"] for r in found if r["email"]}


def _customer_ref(row: dict[str, Any]) -> tuple[str, str] | None:
    """The column naming the row's customer (id, external reference, email) and its key."""
    for column in ("customer_id", "customer_external_ref", "customer_email"):
        if column in row:
            value = str(row[column]).strip()
            return column, f"{column}:{value.lower() if column == 'customer_email' else value}"
    return None


def _order_errors(plan: Plan, row: dict[str, Any], owners: dict[str, int]) -> list[FieldError]:
    """What a row lacks beyond ``clean()``: a known customer and, when new, the required fields."""
    errors = []
    ref = _customer_ref(row)
    if ref is not None and ref[1] not in owners:
        path = _PATHS[ref[0]]
        errors.append(FieldError(ErrorCode.NOT_FOUND, row_path(plan.index, path),
                                 "customer not found"))
    if plan.existing is None:
        if ref is None:
            errors.append(FieldError(
                ErrorCode.BAD_USER_INPUT, row_path(plan.index, "customerExternalRef"),
                "a new order needs its customer's id, external reference or email",
            ))
        errors += [FieldError(ErrorCode.BAD_USER_INPUT, row_path(plan.index, path), "is required")
                   for key, path in _REQUIRED.items() if key not in row]
    return errors


async def _clean_order(
    org_id: int, plan: Plan, row: dict[str, Any], owners: dict[str, int]
) -> None:
    errors = _order_errors(plan, row, owners)
    fields = differing({k: v for k, v in row.items() if not k.startswith("customer_")},
                       plan.existing)
    # not creating=True: that looks the customer up again, one query per row
    try:
        plan.values = await orders.clean(org_id, fields, creating=False)
    except InputError as exc:
        errors += rebase(plan.index, exc.errors)
    if errors:
        plan.fail(errors)
        return
    ref = _customer_ref(row)
    if ref is not None:
        plan.values["customer_id"] = owners[ref[1]]
    if plan.existing is None:
        plan.values.setdefault("status", OrderStatus.PENDING)
    settle(plan)


async def _check_skus(conn: BaseDBAsyncClient, org_id: int, plans: list[Plan]) -> None:
    """Fail the rows whose line items name SKUs the catalogue lacks (one statement for all)."""
    checked = [p for p in plans if not p.failed and p.values.get("line_items")]
    if not checked:
        return
    errors = await products.check_skus(org_id=org_id, orders=[
        products.LineItems(row_path(p.index, "lineItems"), p.values["line_items"],
                           p.values.get("currency") or (p.existing or {}).get("currency") or "")
        for p in checked
    ], using=conn)
    for plan, problems in zip(checked, errors, strict=True):
        if problems:
            plan.fail(problems)
