"""Saved views in the API: a user's named customer-list filters, their input and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from db.sql import Row
from schema.customer import CustomerOrderBy
from schema.errors import UserError
from schema.node import to_global_id


@strawberry.type(description="A named customer list of the signed-in user: a filter and an order.")
class SavedView:
    id: strawberry.ID
    name: str
    filter: JSON = strawberry.field(
        description="A CustomerFilter as JSON, as the client gave it (pass it back as `filter`)."
    )
    order_by: CustomerOrderBy
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> SavedView:
        """The API object of a ``saved_view`` row."""
        return cls(
            id=to_global_id("SavedView", row["id"]), name=row["name"], filter=row["filter"],
            order_by=CustomerOrderBy(row["order_by"]), created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@strawberry.input(description="A view to save; a name the user already has is replaced.")
class SaveViewInput:
    name: str
    filter: JSON = strawberry.field(description="A CustomerFilter as a JSON object.")
    order_by: CustomerOrderBy = CustomerOrderBy.CREATED_AT_DESC


@strawberry.type
class SavedViewPayload:
    view: SavedView | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
