"""Bulk upserts of products, matched on their SKU (case-insensitively; see db/bulk.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, InputError
from db import product as products
from db.sql import fetch
from db.upsert import (
    Plan,
    RowResult,
    Table,
    check_size,
    differing,
    rebase,
    reject_repeated_keys,
    settle,
    write,
)

PRODUCTS = Table(
    name="product", columns=products.COLUMNS,
    writable=("sku", "name", "category", "price", "currency", "active", "attributes"),
    defaults={"active": True, "attributes": {}, "category": None},
    unique={"product_sku_uniq": ("sku", "a product with this SKU exists")},
)


def product_key(row: dict[str, Any]) -> str | None:
    """The key a product row is matched on (its SKU, compared case-insensitively)."""
    sku = row.get("sku")
    return products.sku_key(sku) if isinstance(sku, str) and sku.strip() else None


async def upsert_products(*, org_id: int, rows: Sequence[dict[str, Any]]) -> list[RowResult]:
    """Create or update products matched on their SKU; None values count as absent."""
    check_size(rows)
    data = [{k: v for k, v in row.items() if v is not None} for row in rows]
    plans = [Plan(i, key=product_key(row), key_path="sku") for i, row in enumerate(data)]
    for plan in plans:
        if plan.key is None:
            plan.error(ErrorCode.BAD_USER_INPUT, "sku", "is required to match products")
    reject_repeated_keys(plans)
    async with in_transaction() as conn:
        stored = await _stored(conn, org_id, [p.key for p in plans if p.key and not p.failed])
        for plan, row in zip(plans, data, strict=True):
            if not plan.failed:
                _clean(plan, row, stored.get(plan.key or ""))
        await write(conn, PRODUCTS, org_id, plans)
    return [p.result for p in plans]


def _clean(plan: Plan, row: dict[str, Any], existing: dict[str, Any] | None) -> None:
    plan.existing = existing
    if existing is not None:
        row = {k: v for k, v in row.items() if k != "sku"}  # matched on it: it stays as stored
    fields = differing(row, existing)
    try:
        plan.values = products.clean(fields, creating=existing is None)
    except InputError as exc:
        plan.fail(rebase(plan.index, exc.errors))
        return
    settle(plan)


async def _stored(
    conn: BaseDBAsyncClient, org_id: int, keys: list[str]
) -> dict[str, dict[str, Any]]:
    rows = await fetch(
        f"SELECT {products.COLUMNS} FROM product t WHERE t.organization_id = $1"
        " AND lower(t.sku) = ANY($2::text[]) FOR UPDATE", [org_id, keys], conn,
    )
    return {products.sku_key(row["sku"]): row for row in rows}
