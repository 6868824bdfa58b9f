"""Organizations and users as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from db.sql import Row
from schema.enums import Role
from schema.node import Node, to_global_id


@strawberry.type(description="A company using the CRM; all its data is isolated from others.")
class Organization(Node):
    id: strawberry.ID
    name: str
    slug: str
    currency: str = strawberry.field(description="ISO 4217 code of the organization's money.")
    time_zone: str = strawberry.field(
        description="IANA time zone: the organization's days (task digests, due dates)."
    )
    locale: str = strawberry.field(description="BCP 47 language tag, e.g. en-US.")

    @classmethod
    def from_model(cls, org: Any) -> Organization:
        return cls(
            id=to_global_id("Organization", org.id), name=org.name, slug=org.slug,
            currency=org.currency, time_zone=org.time_zone, locale=org.locale,
        )

    @classmethod
    def from_row(cls, row: Row) -> Organization:
        return cls(
            id=to_global_id("Organization", row["id"]), name=row["name"], slug=row["slug"],
            currency=row["currency"], time_zone=row["time_zone"], locale=row["locale"],
        )


@strawberry.type(description="A person who signs in to the CRM.")
class User(Node):
    id: strawberry.ID
    email: str
    name: str
    role: Role
    is_active: bool
    created_at: datetime
    pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Row) -> User:
        return cls(
            id=to_global_id("User", row["id"]), email=row["email"], name=row["name"],
            role=row["role"], is_active=row["is_active"], created_at=row["created_at"],
            pk=row["id"],
        )
