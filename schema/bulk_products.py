"""Bulk upserts of products: rows in, one result per row out."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry.scalars import JSON

from schema.bulk import ROWS_DESCRIPTION, UpsertCounts, UpsertRowStatus
from schema.errors import UserError
from schema.input_conversion import planned
from schema.product import Product


@planned
@strawberry.input(description="A product to create or update, matched on its SKU (in any"
                              " case). Omitted or null fields stay; a new product needs a"
                              " name, price and currency.")
class ProductUpsertRow:
    sku: str
    name: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    price: Decimal | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET
    attributes: JSON | None = strawberry.UNSET


@planned
@strawberry.input(description="Products to create or update, matched on their SKU.")
class UpsertProductsInput:
    rows: list[ProductUpsertRow] = strawberry.field(description=ROWS_DESCRIPTION)


@strawberry.type(description="The outcome of one product row.")
class ProductUpsertResult:
    index: int = strawberry.field(description="Position of the row in input.rows.")
    status: UpsertRowStatus
    product: Product | None
    errors: list[UserError]


@strawberry.type
class UpsertProductsPayload(UpsertCounts):
    results: list[ProductUpsertResult] = strawberry.field(default_factory=list)
