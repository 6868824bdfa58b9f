"""Orders (a customer's transaction records): filters, keyset pages and validated writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import customer as customers
from db import product as products
from db import validation
from db.enums import OrderStatus
from db.models import Order
from db.pagination import Sort, Source
from db.sql import Params, fetch, row_of, violated_constraint

COLUMNS = (
    "t.id, t.organization_id, t.customer_id, t.external_ref, t.amount, t.currency, t.status,"
    " t.placed_at, t.line_items, t.created_at, t.updated_at"
)
SORTS = {
    s.name: s
    for s in (
        Sort("PLACED_AT_DESC", "t.placed_at", "datetime", descending=True),
        Sort("PLACED_AT_ASC", "t.placed_at", "datetime", descending=False),
    )
}
MAX_LINE_ITEMS = 500


@dataclass(frozen=True)
class OrderFilter:
    """Which orders to list; every condition must hold."""

    customer_ids: Sequence[int] = ()
    statuses: Sequence[OrderStatus] = ()
    placed_after: datetime | None = None
    placed_before: datetime | None = None


def source(org_id: int, f: OrderFilter) -> Source:
    """The organization's orders matching ``f``."""
    params = Params()
    where = [f"t.organization_id = {params.add(org_id)}"]
    if f.customer_ids:
        where.append(f"t.customer_id = ANY({params.add(list(f.customer_ids))}::bigint[])")
    if f.statuses:
        where.append(f"t.status = ANY({params.add([s.value for s in f.statuses])}::text[])")
    if f.placed_after is not None:
        where.append(f"t.placed_at >= {params.add(f.placed_after)}")
    if f.placed_before is not None:
        where.append(f"t.placed_at < {params.add(f.placed_before)}")
    return Source("customer_order", COLUMNS, " AND ".join(where), params)


async def get_many(*, org_id: int, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The organization's orders with these ids, keyed by id."""
    rows = await fetch(
        f"SELECT {COLUMNS} FROM customer_order t"
        " WHERE t.organization_id = $1 AND t.id = ANY($2::bigint[])",
        [org_id, list(ids)],
    )
    return {row["id"]: row for row in rows}


def _line_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(items) > MAX_LINE_ITEMS:
        raise ValueError(f"must have at most {MAX_LINE_ITEMS} line items")
    cleaned = []
    for item in items:
        name = (item.get("name") or "").strip()
        if not name or len(name) > 200:
            raise ValueError("each line item needs a name of 1 to 200 characters")
        quantity = item.get("quantity", 1)
        if not isinstance(quantity, int) or quantity <= 0:
            raise ValueError("each line item quantity must be a positive integer")
        cleaned.append(
            {
                "sku": (item.get("sku") or "").strip()[:100] or None,
                "name": name,
                "quantity": quantity,
                "unit_price": str(validation.amount(item["unit_price"])),
            }
        )
    return cleaned


async def clean(org_id: int, data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validate and normalise order fields (only those present in ``data``)."""
    c = validation.Cleaner()
    out: dict[str, Any] = {}
    if creating or "amount" in data:
        out["amount"] = c.apply("amount", data.get("amount"), validation.amount)
    if creating or "currency" in data:
        out["currency"] = c.apply("currency", data.get("currency") or "", validation.currency)
    if "external_ref" in data:
        out["external_ref"] = c.text("externalRef", data["external_ref"], 100)
    if "line_items" in data:
        out["line_items"] = c.apply("lineItems", data["line_items"] or [], _line_items)
    for key in ("status", "placed_at"):
        if data.get(key) is not None:
            out[key] = data[key]
    if creating:
        out.setdefault("status", OrderStatus.PENDING)
        if out.get("placed_at") is None:
            c.fail("placedAt", "is required")
        if not await customers.hold_live(org_id=org_id, customer_id=data["customer_id"]):
            c.fail("customerId", "customer not found", ErrorCode.NOT_FOUND)
        out["customer_id"] = data["customer_id"]
    c.raise_if_any()
    return out


def _duplicate(exc: IntegrityError) -> InputError:
    if violated_constraint(exc) != "customer_order_external_ref_uniq":
        raise exc
    return InputError(
        [FieldError(ErrorCode.DUPLICATE, ("input", "externalRef"),
                    "an order with this external reference exists")]
    )


async def _check_skus(
    conn: BaseDBAsyncClient, org_id: int, values: dict[str, Any], currency: str
) -> None:
    if values.get("line_items"):
        [errors] = await products.check_skus(org_id=org_id, orders=[products.LineItems(
            ("input", "lineItems"), values["line_items"], currency)], using=conn)
        if errors:
            raise InputError(errors)


async def create(*, org_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Insert an order for a live customer of the organization."""
    values = await clean(org_id, data, creating=True)
    try:
        async with in_transaction() as conn:
            await _check_skus(conn, org_id, values, values["currency"])
            order = await Order.create(using_db=conn, organization_id=org_id, **values)
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    return row_of(order)


async def update(*, org_id: int, order_id: int, data: dict[str, Any]) -> dict[str, Any] | None:
    """Change the given fields of an order; None if the organization has no such order."""
    values = await clean(org_id, data, creating=False)
    try:
        async with in_transaction() as conn:
            order = await (
                Order.filter(id=order_id, organization_id=org_id)
                .using_db(conn).select_for_update().first()
            )
            if order is None:
                return None
            await _check_skus(conn, org_id, values, values.get("currency") or order.currency)
            if values:
                order.update_from_dict(values)
                await order.save(using_db=conn)
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    return row_of(order)
