"""Bulk mutations: partners upsert many customers or orders at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import strawberry

from auth.permissions import IsAgent
from core.errors import AppError, FieldError
from db import bulk, bulk_orders
from db.upsert import RowResult
from resolvers.common import attempt, provided
from schema.bulk import (
    CustomerMatchKey,
    CustomerUpsertResult,
    CustomerUpsertRow,
    ImportCustomersInput,
    OrderUpsertResult,
    OrderUpsertRow,
    UpsertCounts,
    UpsertCustomersInput,
    UpsertCustomersPayload,
    UpsertOrdersInput,
    UpsertOrdersPayload,
    UpsertRowStatus,
)
from schema.customer import Customer
from schema.errors import UserError
from schema.node import decode_id
from schema.order import Order

_MATCH: dict[CustomerMatchKey, bulk.MatchKey] = {
    CustomerMatchKey.EXTERNAL_REF: "external_ref", CustomerMatchKey.EMAIL: "email",
}
Upsert = Callable[[], Awaitable[list[RowResult]]]
P = TypeVar("P", bound=UpsertCounts)


def _customer_data(row: CustomerUpsertRow) -> dict[str, Any]:
    data = provided(row)
    address = data.pop("address", strawberry.UNSET)
    if address is None:
        data.update(street=None, city=None, region=None, postal_code=None, country=None)
    elif address is not strawberry.UNSET:
        data.update(provided(address))
    return data


def _order_data(row: OrderUpsertRow) -> dict[str, Any]:
    data = provided(row)
    if data.get("customer_id") is not None:
        try:
            data["customer_id"] = decode_id(str(data["customer_id"]), "Customer")
        except AppError:
            data["customer_id"] = 0  # no such customer: the row fails with "customer not found"
    if data.get("line_items") is not None:
        data["line_items"] = [vars(item) for item in data["line_items"]]
    return data


def in_input(errors: Sequence[FieldError]) -> list[UserError]:
    return [UserError.from_field_error(FieldError(e.code, ("input", *e.field), e.message))
            for e in errors]


def _whole_input(errors: list[UserError]) -> list[UserError]:
    return [UserError(code=e.code, field=["input", *(e.field or [])], message=e.message)
            for e in errors]


async def upsert_rows(
    work: Upsert, payload: type[P], result_of: Callable[[RowResult], Any]
) -> P:
    """Run an upsert and count its rows; errors of the whole input come back alone."""
    results, errors = await attempt(work)
    if results is None:
        return payload(errors=_whole_input(errors))
    counts = Counter(result.status for result in results)
    return payload(  # type: ignore[call-arg]  # every payload class adds its results
        results=[result_of(r) for r in results], created=counts["created"],
        updated=counts["updated"], unchanged=counts["unchanged"], failed=counts["failed"],
    )


def _customer_result(r: RowResult) -> CustomerUpsertResult:
    return CustomerUpsertResult(
        index=r.index, status=UpsertRowStatus(r.status),
        customer=Customer.from_row(r.row) if r.row else None, errors=in_input(r.errors),
    )


def _order_result(r: RowResult) -> OrderUpsertResult:
    return OrderUpsertResult(
        index=r.index, status=UpsertRowStatus(r.status),
        order=Order.from_row(r.row) if r.row else None, errors=in_input(r.errors),
    )


async def _upsert_customers(
    info: strawberry.Info, input: UpsertCustomersInput
) -> UpsertCustomersPayload:
    org_id = info.context.require_viewer().organization_id
    rows = [_customer_data(row) for row in input.rows]
    return await upsert_rows(lambda: bulk.upsert_customers(
        org_id=org_id, rows=rows, match_on=_MATCH[input.match_on],
    ), UpsertCustomersPayload, _customer_result)


@strawberry.type
class BulkMutation:
    @strawberry.mutation(permission_classes=[IsAgent])
    async def upsert_customers(
        self, info: strawberry.Info, input: UpsertCustomersInput
    ) -> UpsertCustomersPayload:
        """Create or update up to 1,000 customers matched on externalRef or email.

        Per-row results; a conflict on a unique field (email, externalRef) fails only its row.
        """
        return await _upsert_customers(info, input)

    @strawberry.mutation(
        permission_classes=[IsAgent], deprecation_reason="Use upsertCustomers (same input)."
    )
    async def import_customers(
        self, info: strawberry.Info, input: ImportCustomersInput
    ) -> UpsertCustomersPayload:
        """Create or update up to 1,000 customers; each row succeeds or fails on its own."""
        return await _upsert_customers(info, input)

    @strawberry.mutation(permission_classes=[IsAgent])
    async def upsert_orders(
        self, info: strawberry.Info, input: UpsertOrdersInput
    ) -> UpsertOrdersPayload:
        """Create or update up to 1,000 orders matched on externalRef, with per-row results."""
        org_id = info.context.require_viewer().organization_id
        rows = [_order_data(row) for row in input.rows]
        return await upsert_rows(lambda: bulk_orders.upsert_orders(org_id=org_id, rows=rows),
                             UpsertOrdersPayload, _order_result)
