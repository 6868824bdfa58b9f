"""The product catalogue: filters, keyset pages, validated writes, and SKU lookups for orders.

A product's SKU is its identity (order line items name products by it, case-insensitively), so
it is set when the product is created and never changed: a new SKU is a new product.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import validation
from db.pagination import Sort, Source
from db.sql import Params, escape_like, fetch, fetch_one, violated_constraint

COLUMNS = (
    "t.id, t.organization_id, t.sku, t.name, t.category, t.price, t.currency, t.active,"
    " t.attributes, t.created_at, t.updated_at"
)
SORTS = {
    s.name: s
    for s in (
        Sort("NAME_ASC", "t.name", "text", descending=False),
        Sort("PRICE_ASC", "t.price", "decimal", descending=False),
        Sort("PRICE_DESC", "t.price", "decimal", descending=True),
        Sort("CREATED_AT_DESC", "t.created_at", "datetime", descending=True),
        Sort("UPDATED_AT_DESC", "t.updated_at", "datetime", descending=True),
    )
}
MAX_SKU = 100
MAX_CATEGORY = 300
MAX_CATEGORY_DEPTH = 8
_WRITABLE = ("name", "category", "price", "currency", "active", "attributes")


@dataclass(frozen=True)
class ProductFilter:
    """Which products to list; every condition must hold."""

    search: str | None = None
    category: str | None = None  # this category and everything below it
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    active: bool | None = None


def source(org_id: int, f: ProductFilter) -> Source:
    """The organization's products matching ``f``."""
    params = Params()
    where = [f"t.organization_id = {params.add(org_id)}"]
    if f.search is not None and f.search.strip():
        term = escape_like(f.search.strip().lower())
        where.append(f"t.search_text LIKE {params.add('%' + term + '%')}")
    if f.category is not None and f.category.strip():
        path = category_path(f.category)
        where.append(f"(t.category = {params.add(path)}"
                     f" OR t.category LIKE {params.add(escape_like(path) + '/%')})")
    if f.min_price is not None:
        where.append(f"t.price >= {params.add(f.min_price)}")
    if f.max_price is not None:
        where.append(f"t.price <= {params.add(f.max_price)}")
    if f.active is not None:
        where.append(f"t.active = {params.add(f.active)}")
    return Source("product", COLUMNS, " AND ".join(where), params)


def category_path(value: str) -> str:
    """A category path with its parts trimmed: `` Travel / Rooms `` is ``Travel/Rooms``."""
    parts = [part.strip() for part in value.split("/")]
    if any(not part for part in parts) or len(parts) > MAX_CATEGORY_DEPTH:
        raise ValueError(f"must be a path of 1 to {MAX_CATEGORY_DEPTH} non-empty names"
                         " separated by '/', such as Travel/Rooms")
    return "/".join(parts)


def sku_key(sku: str) -> str:
    """How SKUs are compared: trimmed, case-insensitively."""
    return sku.strip().lower()


async def get_many(*, org_id: int, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The organization's products with these ids, keyed by id."""
    rows = await fetch(
        f"SELECT {COLUMNS} FROM product t WHERE t.organization_id = $1"
        " AND t.id = ANY($2::bigint[])", [org_id, list(ids)],
    )
    return {row["id"]: row for row in rows}


async def by_skus(
    *, org_id: int, skus: Iterable[str], using: BaseDBAsyncClient | None = None
) -> dict[str, dict[str, Any]]:
    """The organization's products with these SKUs, keyed by ``sku_key``."""
    keys = sorted({sku_key(s) for s in skus if s and s.strip()})
    if not keys:
        return {}
    rows = await fetch(
        f"SELECT {COLUMNS} FROM product t WHERE t.organization_id = $1"
        " AND lower(t.sku) = ANY($2::text[])", [org_id, keys], using,
    )
    return {sku_key(row["sku"]): row for row in rows}


async def creates_unknown(org_id: int, using: BaseDBAsyncClient | None = None) -> bool:
    """Whether the organization wants unknown SKUs in orders to become inactive products."""
    row = await fetch_one("SELECT create_unknown_products FROM organization WHERE id = $1",
                          [org_id], using)
    return bool(row and row["create_unknown_products"])


async def add_placeholders(
    *, org_id: int, items: Sequence[tuple[str, str, Decimal, str]],
    using: BaseDBAsyncClient,
) -> None:
    """Inactive products for (sku, name, unit price, currency) that do not exist yet."""
    if not items:
        return
    await fetch(
        "INSERT INTO product (organization_id, sku, name, price, currency, active, attributes,"
        " created_at, updated_at)"
        " SELECT $1, s.sku, s.name, s.price, s.currency, false, '{\"placeholder\": true}',"
        " now(), now() FROM unnest($2::text[], $3::text[], $4::numeric[], $5::text[])"
        " AS s(sku, name, price, currency)"
        " ON CONFLICT (organization_id, lower(sku)) DO NOTHING",
        [org_id, [i[0] for i in items], [i[1] for i in items], [i[2] for i in items],
         [i[3] for i in items]], using,
    )


def clean(data: dict[str, Any], *, creating: bool,
          prefix: tuple[str, ...] = ("input",)) -> dict[str, Any]:
    """Validated and normalised product fields (only those present in ``data``)."""
    c = validation.Cleaner(prefix)
    out: dict[str, Any] = {}
    if creating:
        out["sku"] = c.text("sku", data.get("sku"), MAX_SKU, required=True)
        out["name"] = c.text("name", data.get("name"), 200, required=True)
    elif "name" in data:
        out["name"] = c.text("name", data["name"], 200, required=True)
    if "category" in data:
        text = c.text("category", data["category"], MAX_CATEGORY)
        out["category"] = None if text is None else c.apply("category", text, category_path)
    if creating or "price" in data:
        out["price"] = c.apply("price", data.get("price"), validation.amount)
    if creating or "currency" in data:
        out["currency"] = c.apply("currency", data.get("currency") or "", validation.currency)
    if data.get("active") is not None:
        out["active"] = bool(data["active"])
    if data.get("attributes") is not None:
        out["attributes"] = c.apply("attributes", data["attributes"], validation.json_object)
    c.raise_if_any()
    return out


def _duplicate(exc: IntegrityError) -> InputError:
    if violated_constraint(exc) != "product_sku_uniq":
        raise exc
    return InputError([FieldError(ErrorCode.DUPLICATE, ("input", "sku"),
                                  "a product with this SKU exists")])


async def create(*, org_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Insert a product."""
    values = clean(data, creating=True)
    values.setdefault("active", True)
    values.setdefault("attributes", {})
    names = list(values)
    try:
        async with in_transaction() as conn:
            row = await fetch_one(
                f"INSERT INTO product (organization_id, {', '.join(names)}, created_at,"
                f" updated_at) VALUES ($1, {', '.join(f'${i + 2}' for i in range(len(names)))},"
                f" now(), now()) RETURNING {COLUMNS.replace('t.', '')}",
                [org_id, *values.values()], conn,
            )
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    assert row is not None
    return row


async def update(*, org_id: int, product_id: int, data: dict[str, Any]) -> dict[str, Any] | None:
    """Change the given fields of a product; None if the organization has no such product."""
    values = {k: v for k, v in clean(data, creating=False).items() if k in _WRITABLE}
    if not values:
        return (await get_many(org_id=org_id, ids=[product_id])).get(product_id)
    sets = [f"{name} = ${i + 3}" for i, name in enumerate(values)]
    return await fetch_one(
        f"UPDATE product t SET {', '.join([*sets, 'updated_at = now()'])}"
        " WHERE t.organization_id = $1 AND t.id = $2"
        f" RETURNING {COLUMNS}", [org_id, product_id, *values.values()],
    )


@dataclass(frozen=True)
class LineItems:
    """One order's line items to check, where its errors go, and its currency."""

    path: tuple[str, ...]  # of the order's lineItems field
    items: Sequence[dict[str, Any]]
    currency: str


async def check_skus(
    *, org_id: int, orders: Sequence[LineItems], using: BaseDBAsyncClient
) -> list[list[FieldError]]:
    """Per order, the errors of line items naming SKUs the catalogue lacks.

    An organization that chose so gets inactive placeholder products instead (named and priced
    after the first line item naming each), created in the caller's transaction.
    """
    named = [item["sku"] for order in orders for item in order.items if item.get("sku")]
    known = await by_skus(org_id=org_id, skus=named, using=using)
    unknown = {sku_key(s) for s in named} - set(known)
    if unknown and await creates_unknown(org_id, using):
        first: dict[str, tuple[str, str, Decimal, str]] = {}
        for order in orders:
            for item in order.items:
                key = sku_key(item.get("sku") or "")
                if key in unknown and key not in first:
                    first[key] = (item["sku"].strip(), item["name"],
                                  Decimal(str(item["unit_price"])), order.currency)
        await add_placeholders(org_id=org_id, items=list(first.values()), using=using)
        unknown = set()
    return [
        [FieldError(ErrorCode.NOT_FOUND, (*order.path, str(index), "sku"),
                    f"no product has the SKU {item['sku']!r}: create it first (or let the"
                    " organization create placeholders for unknown SKUs)")
         for index, item in enumerate(order.items)
         if item.get("sku") and sku_key(item["sku"]) in unknown]
        for order in orders
    ]
