"""Bulk mutations of companies and deals, matched on their natural keys."""

from __future__ import annotations

from typing import Any

import strawberry

from auth.permissions import IsAgent
from core.errors import AppError
from db import bulk_companies, bulk_deals
from db.upsert import RowResult
from resolvers.bulk import in_input, upsert_rows
from resolvers.common import provided
from schema.bulk import UpsertRowStatus
from schema.bulk_sales import (
    CompanyUpsertResult,
    CompanyUpsertRow,
    DealUpsertResult,
    DealUpsertRow,
    UpsertCompaniesInput,
    UpsertCompaniesPayload,
    UpsertDealsInput,
    UpsertDealsPayload,
)
from schema.company import Company
from schema.deal import Deal
from schema.node import decode_id

_DEAL_IDS = {"owner_id": "User", "company_id": "Company", "pipeline_id": "Pipeline",
             "stage_id": "PipelineStage"}


def _decoded(value: Any, type_name: str) -> int | None:
    """A row's global ID as a key; an undecodable one as 0, which nothing has (NOT_FOUND)."""
    if value is None:
        return None
    try:
        return decode_id(str(value), type_name)
    except AppError:
        return 0


def _company_data(row: CompanyUpsertRow) -> dict[str, Any]:
    data = provided(row)
    address = data.pop("address", strawberry.UNSET)
    if address is None:
        data.update(street=None, city=None, region=None, postal_code=None, country=None)
    elif address is not strawberry.UNSET:
        data.update(provided(address))
    if "owner_id" in data:
        data["owner_id"] = _decoded(data["owner_id"], "User")
    return data


def _deal_data(row: DealUpsertRow) -> dict[str, Any]:
    data = provided(row)
    for key, type_name in _DEAL_IDS.items():
        if key in data:
            data[key] = _decoded(data[key], type_name)
    return data


def _company_result(r: RowResult) -> CompanyUpsertResult:
    return CompanyUpsertResult(
        index=r.index, status=UpsertRowStatus(r.status),
        company=Company.from_row(r.row) if r.row else None, errors=in_input(r.errors),
    )


def _deal_result(r: RowResult) -> DealUpsertResult:
    return DealUpsertResult(
        index=r.index, status=UpsertRowStatus(r.status),
        deal=Deal.from_row(r.row) if r.row else None, errors=in_input(r.errors),
    )


@strawberry.type
class SalesBulkMutation:
    @strawberry.mutation(permission_classes=[IsAgent])
    async def upsert_companies(
        self, info: strawberry.Info, input: UpsertCompaniesInput
    ) -> UpsertCompaniesPayload:
        """Create or update up to 1,000 companies matched on domain, else name; per-row
        results (a domain another company holds fails only its row, with DUPLICATE)."""
        org_id = info.context.require_viewer().organization_id
        rows = [_company_data(row) for row in input.rows]
        return await upsert_rows(
            lambda: bulk_companies.upsert_companies(org_id=org_id, rows=rows),
            UpsertCompaniesPayload, _company_result,
        )

    @strawberry.mutation(permission_classes=[IsAgent])
    async def upsert_deals(
        self, info: strawberry.Info, input: UpsertDealsInput
    ) -> UpsertDealsPayload:
        """Create or update up to 1,000 deals matched on externalRef, else name and company;
        a stage change is recorded in the deal's history as moveDeal records it."""
        viewer = info.context.require_viewer()
        rows = [_deal_data(row) for row in input.rows]
        return await upsert_rows(
            lambda: bulk_deals.upsert_deals(
                org_id=viewer.organization_id, user_id=viewer.user_id, rows=rows),
            UpsertDealsPayload, _deal_result,
        )
