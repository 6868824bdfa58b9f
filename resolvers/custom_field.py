"""Custom field definitions: everyone reads them, an ADMIN defines, changes and removes them."""

from __future__ import annotations

from typing import Any

import strawberry

from auth.permissions import IsAdmin, IsAuthenticated
from db import custom_field as definitions
from resolvers.common import attempt, missing, provided
from schema.custom_field import (
    CustomFieldDefinition,
    CustomFieldPayload,
    DefineCustomFieldInput,
    ObjectType,
    UpdateCustomFieldInput,
)
from schema.node import decode_id

_NAMES = {"type": "field_type", "unique": "is_unique"}


def _payload(row: dict[str, Any] | None, errors: list[Any]) -> CustomFieldPayload:
    return CustomFieldPayload(
        field=CustomFieldDefinition.from_row(row) if row else None, errors=errors)


@strawberry.type
class CustomFieldQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def custom_field_definitions(
        self, info: strawberry.Info, object_type: ObjectType  # type: ignore[valid-type]
    ) -> list[CustomFieldDefinition]:
        """The custom fields of customers, companies or deals, in their order."""
        org_id = info.context.require_viewer().organization_id
        rows = await definitions.list_(
            org_id=org_id, object_type=definitions.ObjectType(object_type))
        return [CustomFieldDefinition.from_row(row) for row in rows]


@strawberry.type
class CustomFieldMutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def define_custom_field(
        self, info: strawberry.Info, input: DefineCustomFieldInput
    ) -> CustomFieldPayload:
        """Add a typed field; existing values under its key are checked on their next write."""
        org_id = info.context.require_viewer().organization_id
        data = provided(input, _NAMES)
        object_type = definitions.ObjectType(data.pop("object_type"))
        return _payload(*await attempt(lambda: definitions.create(
            org_id=org_id, object_type=object_type, data=data)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_custom_field(
        self, info: strawberry.Info, input: UpdateCustomFieldInput
    ) -> CustomFieldPayload:
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            field_id = decode_id(input.id, "CustomFieldDefinition", "input.id")
            data = provided(input, _NAMES)
            data.pop("id")
            row = await definitions.update(org_id=org_id, field_id=field_id, data=data)
            if row is None:
                raise missing("custom field")
            return row

        return _payload(*await attempt(work))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def delete_custom_field(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> CustomFieldPayload:
        """Remove a field; the values stay in customFields as free-form JSON."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            row = await definitions.delete(
                org_id=org_id, field_id=decode_id(id, "CustomFieldDefinition"))
            if row is None:
                raise missing("custom field", "id")
            return row

        return _payload(*await attempt(work))
