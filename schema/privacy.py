"""Data-subject requests in the API: the erasure payload."""

from __future__ import annotations

import strawberry

from schema.customer import Customer
from schema.errors import UserError


@strawberry.type
class EraseCustomerPayload:
    customer: Customer | None = strawberry.field(
        default=None, description="The anonymised, deleted record that remains for accounting."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)
