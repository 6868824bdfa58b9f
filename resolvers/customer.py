"""Customer queries and mutations."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from auth.permissions import IsAgent, IsAuthenticated, IsManager
from auth.pii import refuse_hidden_search, refuse_personal_fields
from db import custom_field_values as custom_values
from db import customer as customers
from db import customer_filter as facts
from db.custom_field import ObjectType
from resolvers import relay
from resolvers.common import attempt, missing, provided
from schema.custom_field import CustomFieldOrder
from schema.customer import (
    CreateCustomerInput,
    Customer,
    CustomerFilter,
    CustomerOrderBy,
    CustomerPayload,
    UpdateCustomerInput,
)
from schema.node import decode_id
from schema.pagination import Connection
from schema.prediction_score import ScoreOrder


def _customer_data(input: CreateCustomerInput | UpdateCustomerInput) -> dict[str, Any]:
    data = provided(input)
    data.pop("id", None)
    address = data.pop("address", strawberry.UNSET)
    if address is None:
        data.update(street=None, city=None, region=None, postal_code=None, country=None)
    elif address is not strawberry.UNSET:
        data.update(provided(address))
    if data.get("owner_id") is not None:
        data["owner_id"] = decode_id(data["owner_id"], "User", "input.ownerId")
    return data


@strawberry.type
class CustomerQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def customer(self, info: strawberry.Info, id: strawberry.ID) -> Customer | None:
        """A live customer of your organization, or null."""
        return await relay.get_by_id(info, id, "Customer", "customer", Customer.from_row)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def customers(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: CustomerFilter | None = None,
        order_by: CustomerOrderBy = CustomerOrderBy.CREATED_AT_DESC,
        order_by_custom_field: CustomFieldOrder | None = None,
        order_by_score: Annotated[ScoreOrder | None, strawberry.argument(
            description="Order by a custom prediction's score instead of orderBy.")] = None,
    ) -> Connection[Customer]:
        """Your organization's customers, a page at a time."""
        f = filter.to_filter() if filter else facts.CustomerFilter()
        refuse_hidden_search(info.context, f)
        org_id = info.context.require_viewer().organization_id
        refuse_personal_fields(info.context, facts.personal_keys(f), order_by_custom_field)
        f = await facts.with_custom_fields(org_id, f)
        sort = customers.ranked(0, f)[1] if order_by is CustomerOrderBy.RELEVANCE else (
            customers.SORTS[order_by.value])
        if order_by_custom_field is not None:
            sort = await custom_values.order(
                org_id=org_id, object_type=ObjectType.CUSTOMER, key=order_by_custom_field.key,
                descending=order_by_custom_field.descending)
        if order_by_score is not None:
            sort = customers.score_sort(order_by_score.name, descending=order_by_score.descending)
        return await relay.list_(
            info, sort, lambda org_id: customers.source(org_id, f),
            Customer.from_row, first, after, last, before,
        )


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(permission_classes=[IsAgent])
    async def create_customer(
        self, info: strawberry.Info, input: CreateCustomerInput
    ) -> CustomerPayload:
        org_id = info.context.require_viewer().organization_id
        row, errors = await attempt(
            lambda: customers.create(org_id=org_id, data=_customer_data(input))
        )
        return CustomerPayload(customer=Customer.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(permission_classes=[IsAgent])
    async def update_customer(
        self, info: strawberry.Info, input: UpdateCustomerInput
    ) -> CustomerPayload:
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            customer_id = decode_id(input.id, "Customer", "input.id")
            row = await customers.update(
                org_id=org_id, customer_id=customer_id, data=_customer_data(input)
            )
            if row is None:
                raise missing("customer")
            return row

        row, errors = await attempt(work)
        return CustomerPayload(customer=Customer.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(permission_classes=[IsManager])
    async def delete_customer(self, info: strawberry.Info, id: strawberry.ID) -> CustomerPayload:
        """Soft-delete: the customer disappears from lists and can be restored."""
        return await _set_deleted(info, id, deleted=True)

    @strawberry.mutation(permission_classes=[IsManager])
    async def restore_customer(self, info: strawberry.Info, id: strawberry.ID) -> CustomerPayload:
        return await _set_deleted(info, id, deleted=False)


async def _set_deleted(
    info: strawberry.Info, id: strawberry.ID, *, deleted: bool
) -> CustomerPayload:
    org_id = info.context.require_viewer().organization_id

    async def work() -> dict[str, Any]:
        row = await customers.set_deleted(
            org_id=org_id, customer_id=decode_id(id, "Customer"), deleted=deleted
        )
        if row is None:
            raise missing("deleted customer" if not deleted else "customer", "id")
        return row

    row, errors = await attempt(work)
    return CustomerPayload(customer=Customer.from_row(row) if row else None, errors=errors)
