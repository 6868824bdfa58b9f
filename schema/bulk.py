"""Bulk customer import: rows in, one result per row out."""

from __future__ import annotations

from enum import Enum

import strawberry

from schema.customer import Customer, CustomerChanges
from schema.errors import UserError


@strawberry.enum(description="Which field identifies an imported row's customer.")
class CustomerMatchKey(Enum):
    EXTERNAL_REF = "external_ref"
    EMAIL = "email"


@strawberry.enum(description="What an import did with one row.")
class ImportRowStatus(Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@strawberry.input(
    description="A customer to create or update; omitted fields stay, null clears. "
    "A new customer needs a name."
)
class CustomerImportRow(CustomerChanges):
    pass


@strawberry.input(description="Up to 1,000 customers to upsert in one transaction.")
class ImportCustomersInput:
    rows: list[CustomerImportRow]
    match_on: CustomerMatchKey = strawberry.field(
        default=CustomerMatchKey.EXTERNAL_REF,
        description="Rows without this field are matched on the other one.",
    )


@strawberry.type(description="The outcome of one imported row.")
class ImportRowResult:
    index: int = strawberry.field(description="Position of the row in input.rows.")
    status: ImportRowStatus
    customer: Customer | None
    errors: list[UserError]


@strawberry.type
class ImportCustomersPayload:
    results: list[ImportRowResult] = strawberry.field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Errors of the whole input (then nothing is written)."
    )
