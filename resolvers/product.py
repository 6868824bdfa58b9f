"""Product catalogue queries and mutations."""

from __future__ import annotations

from typing import Any

import strawberry

from auth.permissions import IsAgent, IsAuthenticated
from db import bulk_products
from db import product as products
from db.upsert import RowResult
from resolvers import relay
from resolvers.bulk import in_input, upsert_rows
from resolvers.common import attempt, missing, provided
from schema.bulk import UpsertRowStatus
from schema.bulk_products import ProductUpsertResult, UpsertProductsInput, UpsertProductsPayload
from schema.node import decode_id
from schema.pagination import Connection
from schema.product import (
    CreateProductInput,
    Product,
    ProductFilter,
    ProductOrderBy,
    ProductPayload,
    UpdateProductInput,
)


@strawberry.type
class ProductQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def product(self, info: strawberry.Info, id: strawberry.ID) -> Product | None:
        return await relay.get_by_id(info, id, "Product", "product", Product.from_row)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def products(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: ProductFilter | None = None,
        order_by: ProductOrderBy = ProductOrderBy.NAME_ASC,
    ) -> Connection[Product]:
        """Your organization's catalogue, by name by default."""
        f = filter.to_filter() if filter else products.ProductFilter()
        return await relay.list_(
            info, products.SORTS[order_by.value], lambda org_id: products.source(org_id, f),
            Product.from_row, first, after, last, before,
        )


@strawberry.type
class ProductMutation:
    @strawberry.mutation(permission_classes=[IsAgent])
    async def create_product(
        self, info: strawberry.Info, input: CreateProductInput
    ) -> ProductPayload:
        org_id = info.context.require_viewer().organization_id
        data = provided(input)
        row, errors = await attempt(lambda: products.create(org_id=org_id, data=data))
        return ProductPayload(product=Product.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(permission_classes=[IsAgent])
    async def update_product(
        self, info: strawberry.Info, input: UpdateProductInput
    ) -> ProductPayload:
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            product_id = decode_id(input.id, "Product", "input.id")
            data = provided(input)
            data.pop("id", None)
            row = await products.update(org_id=org_id, product_id=product_id, data=data)
            if row is None:
                raise missing("product")
            return row

        row, errors = await attempt(work)
        return ProductPayload(product=Product.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(permission_classes=[IsAgent])
    async def upsert_products(
        self, info: strawberry.Info, input: UpsertProductsInput
    ) -> UpsertProductsPayload:
        """Create or update up to 1,000 products matched on their SKU, with per-row results."""
        org_id = info.context.require_viewer().organization_id
        rows = [provided(row) for row in input.rows]
        return await upsert_rows(
            lambda: bulk_products.upsert_products(org_id=org_id, rows=rows),
            UpsertProductsPayload, _result,
        )


def _result(r: RowResult) -> ProductUpsertResult:
    return ProductUpsertResult(
        index=r.index, status=UpsertRowStatus(r.status),
        product=Product.from_row(r.row) if r.row else None, errors=in_input(r.errors),
    )
