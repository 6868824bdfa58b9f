"""The product catalogue: the type, filters, inputs and payloads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from core.errors import AppError, ErrorCode
from db import product as products
from db import validation
from db.sql import Row
from schema.errors import UserError
from schema.money import Money
from schema.node import Node, to_global_id


@strawberry.type(description=(
    "Something the organization sells: goods, a service, a trip, a room, a route. Order line"
    " items name products by SKU."
))
class Product(Node):
    id: strawberry.ID
    sku: str = strawberry.field(description="Unique in the organization, case-insensitively;"
                                            " fixed when the product is created.")
    name: str
    category: str | None = strawberry.field(description="A path such as Travel/Rooms/Suites.")
    category_path: list[str] = strawberry.field(description="The category's names, in order.")
    price: Money
    active: bool = strawberry.field(description="Whether it is sold (and recommended) now.")
    attributes: JSON = strawberry.field(description="Anything else: size, colour, nights...")
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]

    @strawberry.field(description="Products bought by the same customers, closest first"
                                  " (from the active recommender).")
    async def bought_together(self, info: strawberry.Info, first: int = 5) -> list[Product]:
        check_together(first)
        rows = await info.context.loaders.bought_together.load(self.pk)
        return together(rows, first)

    @classmethod
    def from_row(cls, row: Row) -> Product:
        category = row["category"]
        return cls(
            id=to_global_id("Product", row["id"]), sku=row["sku"], name=row["name"],
            category=category, category_path=category.split("/") if category else [],
            price=Money.of(row["price"], row["currency"]), active=row["active"],
            attributes=row["attributes"], created_at=row["created_at"],
            updated_at=row["updated_at"], pk=row["id"],
        )


def check_together(first: int) -> None:
    if not 1 <= first <= 10:
        raise AppError(ErrorCode.BAD_USER_INPUT, "first must be between 1 and 10", ["first"])


def together(rows: Sequence[Row], first: int) -> list[Product]:
    """The live products among a product's stored neighbours, closest first."""
    return [Product.from_row(row) for row in rows if row["active"]][:first]


@strawberry.enum(description="Orderings of product lists.")
class ProductOrderBy(Enum):
    NAME_ASC = "NAME_ASC"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    CREATED_AT_DESC = "CREATED_AT_DESC"
    UPDATED_AT_DESC = "UPDATED_AT_DESC"


@strawberry.input(description="Which products to list; every given condition must hold.")
class ProductFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the SKU, name or category, in any case.")
    category: str | None = strawberry.field(
        default=None, description="This category and every category below it.")
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    active: bool | None = None

    def to_filter(self) -> products.ProductFilter:
        category = self.category
        if category is not None and category.strip():
            try:
                category = products.category_path(category)
            except ValueError as exc:
                raise AppError(ErrorCode.BAD_USER_INPUT, f"category {exc}",
                               ["filter", "category"]) from None
        for name, price in (("minPrice", self.min_price), ("maxPrice", self.max_price)):
            if price is not None:  # beyond numeric(18, 4) the database would refuse it
                try:
                    validation.amount(price)
                except ValueError as exc:
                    raise AppError(ErrorCode.BAD_USER_INPUT, f"{name} {exc}",
                                   ["filter", name]) from None
        return products.ProductFilter(
            search=self.search, category=category, min_price=self.min_price,
            max_price=self.max_price, active=self.active,
        )


@strawberry.input(description="A new product.")
class CreateProductInput:
    sku: str
    name: str
    price: Decimal
    currency: str
    category: str | None = None
    active: bool = True
    attributes: JSON | None = None


@strawberry.input(description="Changes to a product; omitted fields stay (the SKU never"
                              " changes).")
class UpdateProductInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    price: Decimal | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET
    attributes: JSON | None = strawberry.UNSET


@strawberry.type
class ProductPayload:
    product: Product | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="How orders and the catalogue meet.")
class CatalogSettings:
    create_unknown_products: bool = strawberry.field(description=(
        "An order line naming a SKU the catalogue lacks: false refuses the order (NOT_FOUND at"
        " lineItems.<n>.sku); true creates an inactive placeholder product instead."))
