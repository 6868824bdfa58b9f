"""Bulk upserts of customers and orders: rows in, one result per row out."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum

import strawberry

from schema.customer import Customer, CustomerChanges
from schema.enums import OrderStatus
from schema.errors import UserError
from schema.input_conversion import planned
from schema.order import LineItemInput, Order

ROWS_DESCRIPTION = (
    "Up to 1,000 rows, written in one transaction; each row succeeds or fails on its own "
    "(a failed row writes nothing of itself and does not stop the others)."
)


@strawberry.enum(description="Which field identifies an upserted row's customer.")
class CustomerMatchKey(Enum):
    EXTERNAL_REF = "external_ref"
    EMAIL = "email"


@strawberry.enum(description="What an upsert did with one row.")
class UpsertRowStatus(Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@planned
@strawberry.input(
    description="A customer to create or update; omitted fields stay, null clears. "
    "A new customer needs a name."
)
class CustomerUpsertRow(CustomerChanges):
    pass


@planned
@strawberry.input(description="Customers to create or update, matched on a natural key.")
class UpsertCustomersInput:
    rows: list[CustomerUpsertRow] = strawberry.field(description=ROWS_DESCRIPTION)
    match_on: CustomerMatchKey = strawberry.field(
        default=CustomerMatchKey.EXTERNAL_REF,
        description="Rows without this field are matched on the other one.",
    )


@planned
@strawberry.input(description="The input of the deprecated importCustomers (as upsertCustomers).")
class ImportCustomersInput(UpsertCustomersInput):
    pass


@strawberry.type(description="The outcome of one customer row.")
class CustomerUpsertResult:
    index: int = strawberry.field(description="Position of the row in input.rows.")
    status: UpsertRowStatus
    customer: Customer | None
    errors: list[UserError] = strawberry.field(
        description="Why the row failed; field paths start at [\"input\", \"rows\", index]."
    )


@strawberry.type(description="What a bulk upsert did, counted per outcome.")
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Errors of the whole input (then nothing is written)."
    )


@strawberry.type
class UpsertCustomersPayload(UpsertCounts):
    results: list[CustomerUpsertResult] = strawberry.field(default_factory=list)


@planned
@strawberry.input(
    description="An order to create or update, matched on its external reference. It names its "
    "customer by customerId, customerExternalRef or customerEmail (checked in that order; one is "
    "needed for a new order and moves an existing one). Omitted or null fields stay."
)
class OrderUpsertRow:
    external_ref: str
    customer_id: strawberry.ID | None = strawberry.UNSET
    customer_external_ref: str | None = strawberry.UNSET
    customer_email: str | None = strawberry.UNSET
    amount: Decimal | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    status: OrderStatus | None = strawberry.UNSET
    placed_at: datetime | None = strawberry.UNSET
    line_items: list[LineItemInput] | None = strawberry.UNSET


@planned
@strawberry.input(description="Orders to create or update, matched on their external reference.")
class UpsertOrdersInput:
    rows: list[OrderUpsertRow] = strawberry.field(description=ROWS_DESCRIPTION)


@strawberry.type(description="The outcome of one order row.")
class OrderUpsertResult:
    index: int = strawberry.field(description="Position of the row in input.rows.")
    status: UpsertRowStatus
    order: Order | None
    errors: list[UserError]


@strawberry.type
class UpsertOrdersPayload(UpsertCounts):
    results: list[OrderUpsertResult] = strawberry.field(default_factory=list)
