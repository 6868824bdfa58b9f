"""Custom field definitions, their inputs, and the filter and ordering inputs on field values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from db import custom_field as definitions
from db.sql import Row
from schema.errors import UserError
from schema.node import to_global_id

ObjectType = strawberry.enum(definitions.ObjectType, name="CustomFieldObjectType",
                             description="What kind of record a custom field belongs to.")
FieldType = strawberry.enum(definitions.FieldType, name="CustomFieldType",
                            description="How a custom field's values are typed and checked.")


@strawberry.type(description="A typed field an ADMIN added to customers, companies or deals; "
                 "values live under `key` in the records' customFields.")
class CustomFieldDefinition:
    id: strawberry.ID
    object_type: ObjectType  # type: ignore[valid-type]
    key: str
    label: str
    type: FieldType  # type: ignore[valid-type]
    options: list[str] = strawberry.field(description="The choices of a select field.")
    currency: str | None = strawberry.field(description="A MONEY field's currency.")
    required: bool
    unique: bool = strawberry.field(description="No two live records share a value.")
    personal: bool = strawberry.field(
        description="Personal data: masked by the PII rules (customers, companies and deals).")
    position: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> CustomFieldDefinition:
        """The API object of a stored definition."""
        return cls(
            id=to_global_id("CustomFieldDefinition", row["id"]), object_type=row["object_type"],
            key=row["key"], label=row["label"], type=row["field_type"],
            options=list(row["options"] or ()), currency=row["currency"],
            required=row["required"], unique=row["is_unique"], personal=row["personal"],
            position=row["position"], created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@strawberry.input(description="A new custom field.")
class DefineCustomFieldInput:
    object_type: ObjectType  # type: ignore[valid-type]
    key: str = strawberry.field(description="Lower-case letters, digits and _; fixed once set.")
    label: str
    type: FieldType  # type: ignore[valid-type]
    options: list[str] | None = None
    currency: str | None = None
    required: bool = False
    unique: bool = False
    personal: bool = False
    position: int = 0


@strawberry.input(description="Changes to a custom field (its key, type and object stay).")
class UpdateCustomFieldInput:
    id: strawberry.ID
    label: str | None = strawberry.UNSET
    options: list[str] | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    required: bool | None = strawberry.UNSET
    unique: bool | None = strawberry.UNSET
    personal: bool | None = strawberry.UNSET
    position: int | None = strawberry.UNSET


@strawberry.type
class CustomFieldPayload:
    field: CustomFieldDefinition | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(description="A condition on one custom field's value; all given parts hold.")
class CustomFieldCondition:
    key: str
    equals: list[JSON] | None = strawberry.field(
        default=None, description="Any of these values (a multi-select: holds any of them).")
    gte: JSON | None = strawberry.field(
        default=None, description="At least (number, money and date fields).")
    lte: JSON | None = strawberry.field(
        default=None, description="At most (number, money and date fields).")
    is_set: bool | None = strawberry.field(default=None, description="Has a value, or none.")

    def raw(self) -> dict[str, Any]:
        """The condition as given, checked against the definitions later (db side)."""
        return {"key": self.key, "equals": self.equals, "gte": self.gte, "lte": self.lte,
                "is_set": self.is_set}


@strawberry.input(description="Order by a custom field instead of orderBy.")
class CustomFieldOrder:
    key: str
    descending: bool = False
