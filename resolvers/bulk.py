"""Bulk mutations: partners upsert many customers at once."""

from __future__ import annotations

from collections import Counter
from typing import Any

import strawberry

from app.errors import FieldError
from app.permissions import IsAgent
from db import bulk
from resolvers.common import attempt, provided
from schema.bulk import (
    CustomerImportRow,
    CustomerMatchKey,
    ImportCustomersInput,
    ImportCustomersPayload,
    ImportRowResult,
    ImportRowStatus,
)
from schema.customer import Customer
from schema.errors import UserError

_MATCH: dict[CustomerMatchKey, bulk.MatchKey] = {
    CustomerMatchKey.EXTERNAL_REF: "external_ref", CustomerMatchKey.EMAIL: "email",
}


def _row_data(row: CustomerImportRow) -> dict[str, Any]:
    data = provided(row)
    address = data.pop("address", strawberry.UNSET)
    if address is None:
        data.update(street=None, city=None, region=None, postal_code=None, country=None)
    elif address is not strawberry.UNSET:
        data.update(provided(address))
    return data


def _in_input(error: FieldError) -> UserError:
    inside = FieldError(error.code, ("input", *error.field), error.message)
    return UserError.from_field_error(inside)


def _result(result: bulk.RowResult) -> ImportRowResult:
    return ImportRowResult(
        index=result.index, status=ImportRowStatus(result.status),
        customer=Customer.from_row(result.row) if result.row else None,
        errors=[_in_input(e) for e in result.errors],
    )


@strawberry.type
class BulkMutation:
    @strawberry.mutation(permission_classes=[IsAgent])
    async def import_customers(
        self, info: strawberry.Info, input: ImportCustomersInput
    ) -> ImportCustomersPayload:
        """Create or update up to 1,000 customers; each row succeeds or fails on its own."""
        org_id = info.context.require_viewer().organization_id
        rows = [_row_data(row) for row in input.rows]
        results, errors = await attempt(lambda: bulk.upsert_customers(
            org_id=org_id, rows=rows, match_on=_MATCH[input.match_on]))
        if results is None:
            return ImportCustomersPayload(errors=[
                UserError(code=e.code, field=["input", *(e.field or [])], message=e.message)
                for e in errors
            ])
        counts = Counter(result.status for result in results)
        return ImportCustomersPayload(
            results=[_result(result) for result in results], created=counts["created"],
            updated=counts["updated"], unchanged=counts["unchanged"], failed=counts["failed"],
        )
