"""Data-subject access and erasure (MANAGER and up), and who reads personal data (ADMIN)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from auth import access_audit
from auth.identity import forget_viewers
from auth.permissions import IsAdmin, IsAuthenticated, IsManager
from db import privacy
from db import user as users
from resolvers.common import attempt, missing
from schema.customer import Customer
from schema.node import decode_id
from schema.privacy import (
    EraseCustomerPayload,
    PrivacySettings,
    PrivacySettingsPayload,
    UpdatePrivacySettingsInput,
)


@strawberry.type
class PrivacyQuery:
    @strawberry.field(permission_classes=[IsManager])
    async def export_customer_data(
        self, info: strawberry.Info, customer_id: strawberry.ID
    ) -> JSON | None:
        """Everything held on one customer (record, interactions, orders, emails, predictions)."""
        org_id = info.context.require_viewer().organization_id
        pk = decode_id(customer_id, "Customer", "customerId")
        document = await privacy.export(org_id=org_id, customer_id=pk)
        if document is None:
            return None
        await access_audit.record(
            info.context, "exportCustomerData", target=("Customer", pk),
            count=1 + sum(len(v) for v in document.values() if isinstance(v, list)),
        )
        return JSON(document)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def privacy_settings(self, info: strawberry.Info) -> PrivacySettings:
        """Which roles read personal data and which custom fields hold it."""
        org_id = info.context.require_viewer().organization_id
        return PrivacySettings.from_row(await users.get_privacy(org_id))


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(permission_classes=[IsManager])
    async def erase_customer(
        self, info: strawberry.Info, customer_id: strawberry.ID
    ) -> EraseCustomerPayload:
        """Irreversibly anonymise a customer's personal data; order amounts stay for accounting."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            pk = decode_id(customer_id, "Customer", "customerId")
            row = await privacy.erase(org_id=org_id, customer_id=pk)
            if row is None:
                raise missing("customer", "customerId")
            return row

        row, errors = await attempt(work)
        return EraseCustomerPayload(
            customer=Customer.from_row(row) if row else None, errors=errors
        )

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_privacy_settings(
        self, info: strawberry.Info, input: UpdatePrivacySettingsInput
    ) -> PrivacySettingsPayload:
        """Change which roles read personal data and which custom fields hold it. Other
        processes apply the change within ``CRM_VIEWER_CACHE_SECONDS``."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            roles, keys = input.validated()
            return await users.set_privacy(
                org_id=org_id, pii_roles=roles, personal_custom_fields=keys
            )

        row, errors = await attempt(work)
        if row is None:
            return PrivacySettingsPayload(errors=errors)
        forget_viewers()  # this process: at once
        return PrivacySettingsPayload(privacy_settings=PrivacySettings.from_row(row))
