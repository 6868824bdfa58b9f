"""Data-subject access and erasure (MANAGER and up)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from auth.permissions import IsManager
from db import privacy
from resolvers.common import attempt, missing
from schema.customer import Customer
from schema.node import decode_id
from schema.privacy import EraseCustomerPayload


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
        return JSON(document) if document is not None else None


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
