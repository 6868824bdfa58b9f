"""Orders (transaction records): the type, filters, inputs and payloads."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum

import strawberry

from db import order as orders
from db import product as products
from db.sql import Row
from schema.customer import Customer
from schema.enums import OrderStatus
from schema.errors import UserError
from schema.input_conversion import planned
from schema.money import Money
from schema.nested_filter import CustomerOrderFilter
from schema.node import Node, decode_id, to_global_id
from schema.product import Product


@strawberry.type(description="One item of an order.")
class LineItem:
    sku: str | None
    name: str
    quantity: int
    unit_price: Decimal

    @strawberry.field(description="The catalogue's product with this SKU (null without one).")
    async def product(self, info: strawberry.Info) -> Product | None:
        if not self.sku:
            return None
        row = await info.context.loaders.product_by_sku.load(products.sku_key(self.sku))
        return Product.from_row(row) if row else None


@strawberry.type(description="A customer's order or purchase.")
class Order(Node):
    id: strawberry.ID
    external_ref: str | None
    total: Money
    status: OrderStatus
    placed_at: datetime
    line_items: list[LineItem]
    created_at: datetime
    updated_at: datetime
    customer_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Row) -> Order:
        return cls(
            id=to_global_id("Order", row["id"]), external_ref=row["external_ref"],
            total=Money.of(row["amount"], row["currency"]), status=row["status"],
            placed_at=row["placed_at"],
            line_items=[
                LineItem(sku=i.get("sku"), name=i["name"], quantity=i["quantity"],
                         unit_price=Money.of(Decimal(i["unit_price"]), row["currency"]).amount)
                for i in row["line_items"] or []
            ],
            created_at=row["created_at"], updated_at=row["updated_at"],
            customer_id=row["customer_id"],
        )

    @strawberry.field
    async def customer(self, info: strawberry.Info) -> Customer | None:
        row = await info.context.loaders.customer.load(self.customer_id)
        return Customer.from_row(row) if row else None


@strawberry.enum(description="Orderings of order lists.")
class OrderOrderBy(Enum):
    PLACED_AT_DESC = "PLACED_AT_DESC"
    PLACED_AT_ASC = "PLACED_AT_ASC"


@strawberry.input(description="Which orders to list; every given condition must hold.")
class OrderFilter(CustomerOrderFilter):
    customer_id: strawberry.ID | None = None

    def to_filter(self, customer_ids: tuple[int, ...] = ()) -> orders.OrderFilter:
        if self.customer_id is not None:
            customer_ids = (decode_id(self.customer_id, "Customer", "filter.customerId"),)
        return super().to_filter(customer_ids)


@planned
@strawberry.input
class LineItemInput:
    name: str
    quantity: int = 1
    unit_price: Decimal
    sku: str | None = None


@strawberry.input(description="A new order of a customer.")
class CreateOrderInput:
    customer_id: strawberry.ID
    amount: Decimal
    currency: str
    placed_at: datetime
    status: OrderStatus = OrderStatus.PENDING
    external_ref: str | None = None
    line_items: list[LineItemInput] | None = None


@strawberry.input(description="Changes to an order; omitted fields stay.")
class UpdateOrderInput:
    id: strawberry.ID
    amount: Decimal | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    status: OrderStatus | None = strawberry.UNSET
    placed_at: datetime | None = strawberry.UNSET
    external_ref: str | None = strawberry.UNSET
    line_items: list[LineItemInput] | None = strawberry.UNSET


@strawberry.type
class OrderPayload:
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
