"""Bulk upserts of companies and deals: rows in, one result per row out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from strawberry.scalars import JSON

from schema.bulk import ROWS_DESCRIPTION, UpsertCounts, UpsertRowStatus
from schema.company import Company, CompanySize
from schema.customer import AddressInput
from schema.deal import Deal
from schema.enums import DealStatus
from schema.errors import UserError
from schema.input_conversion import planned


@planned
@strawberry.input(description="A company to create or update, matched on its domain (normalised:"
                  " a URL counts as its domain) or, without one, on its name (in any case, among"
                  " live companies). Omitted fields stay, null clears; a new one needs a name.")
class CompanyUpsertRow:
    name: str | None = strawberry.UNSET
    domain: str | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    size: CompanySize | None = strawberry.UNSET  # type: ignore[valid-type]
    address: AddressInput | None = strawberry.UNSET
    custom_fields: JSON | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET


@planned
@strawberry.input(description="Companies to create or update, matched on domain, else name.")
class UpsertCompaniesInput:
    rows: list[CompanyUpsertRow] = strawberry.field(description=ROWS_DESCRIPTION)


@strawberry.type(description="The outcome of one company row.")
class CompanyUpsertResult:
    index: int = strawberry.field(description="Position of the row in input.rows.")
    status: UpsertRowStatus
    company: Company | None
    errors: list[UserError]


@strawberry.type
class UpsertCompaniesPayload(UpsertCounts):
    results: list[CompanyUpsertResult] = strawberry.field(default_factory=list)


@planned
@strawberry.input(description="A deal to create or update, matched on externalRef or, without"
                  " one, on its name and company together (exactly one live deal must match to"
                  " update it). The company: companyId, companyDomain or companyName; the stage:"
                  " stageId, or stageName in pipelineName (else the deal's pipeline, else the"
                  " default one). Omitted fields stay, null clears.")
class DealUpsertRow:
    external_ref: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    amount: Decimal | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    pipeline_id: strawberry.ID | None = strawberry.UNSET
    stage_id: strawberry.ID | None = strawberry.UNSET
    pipeline_name: str | None = strawberry.UNSET
    stage_name: str | None = strawberry.UNSET
    probability: int | None = strawberry.UNSET
    expected_close_on: date | None = strawberry.UNSET
    status: DealStatus | None = strawberry.UNSET  # type: ignore[valid-type]
    lost_reason: str | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    company_id: strawberry.ID | None = strawberry.UNSET
    company_domain: str | None = strawberry.UNSET
    company_name: str | None = strawberry.UNSET
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="The whole object: checked against the DEAL "
        "custom fields as on createDeal.")


@planned
@strawberry.input(description="Deals to create or update, matched on externalRef, else on name"
                  " and company.")
class UpsertDealsInput:
    rows: list[DealUpsertRow] = strawberry.field(description=ROWS_DESCRIPTION)


@strawberry.type(description="The outcome of one deal row.")
class DealUpsertResult:
    index: int = strawberry.field(description="Position of the row in input.rows.")
    status: UpsertRowStatus
    deal: Deal | None
    errors: list[UserError]


@strawberry.type
class UpsertDealsPayload(UpsertCounts):
    results: list[DealUpsertResult] = strawberry.field(default_factory=list)
