"""Deals (opportunities): the type, its history, filters, inputs, payloads and stats."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from db import deal as deals
from db.sales_enums import DealStatus as DbDealStatus
from db.sql import Row
from schema.company import Company, load_company, load_user
from schema.custom_field import CustomFieldCondition
from schema.customer import Customer
from schema.deal_stats import CONVERTED, converted
from schema.enums import DealStatus
from schema.errors import UserError
from schema.money import ConvertedMoney, Money
from schema.node import Node, decode_id, to_global_id
from schema.pipeline import Pipeline, PipelineStage, load_pipeline, load_stage
from schema.user import User

_PLACES = Decimal("0.0001")


async def load_deal(info: strawberry.Info, pk: int) -> Deal | None:
    """A live deal of the caller's organization, batched per operation."""
    loader = info.context.loaders.keyed(
        "deal", lambda org_id, ids: deals.get_many(org_id=org_id, ids=ids)
    )
    row = await loader.load(pk)
    return Deal.from_row(row) if row else None


@strawberry.type(description="A deal entering a stage.")
class DealStageChange:
    from_stage: str | None = strawberry.field(description="Null for the stage it started in.")
    to_stage: str
    from_stage_id: strawberry.ID | None
    to_stage_id: strawberry.ID | None = strawberry.field(description="Null once removed.")
    changed_at: datetime
    changed_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: Row) -> DealStageChange:
        def gid(pk: int | None) -> strawberry.ID | None:
            return to_global_id("PipelineStage", pk) if pk is not None else None

        return cls(from_stage=row["from_stage_name"], to_stage=row["to_stage_name"],
                   from_stage_id=gid(row["from_stage_id"]), to_stage_id=gid(row["to_stage_id"]),
                   changed_at=row["changed_at"], changed_by_pk=row["changed_by_id"])

    @strawberry.field
    async def changed_by(self, info: strawberry.Info) -> User | None:
        return await load_user(info, self.changed_by_pk)


@strawberry.type(description="An opportunity: an amount hoped for, moving through a pipeline.")
class Deal(Node):
    id: strawberry.ID
    name: str
    external_ref: str | None = strawberry.field(
        description="Your system's key for the deal (upsertDeals matches on it)."
    )
    amount: Money
    probability: int = strawberry.field(
        description="Percent: the deal's own, else its stage's; 100 when WON, 0 when LOST."
    )
    probability_overridden: bool = strawberry.field(description="The deal sets its own.")
    weighted_amount: Money = strawberry.field(description="amount x probability.")
    expected_close_on: date | None
    status: DealStatus  # type: ignore[valid-type]
    lost_reason: str | None
    closed_at: datetime | None
    stage_entered_at: datetime
    custom_fields: JSON = strawberry.field(
        description="Values by key: typed by the DEAL custom field definitions (personal ones "
        "masked for viewers who may not read personal data); other keys free-form.")
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    pk: strawberry.Private[int]
    stage_pk: strawberry.Private[int]
    pipeline_pk: strawberry.Private[int]
    owner_pk: strawberry.Private[int | None]
    company_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: Row) -> Deal:
        probability = deals.effective_probability(row)
        amount: Decimal = row["amount"]
        return cls(
            id=to_global_id("Deal", row["id"]), name=row["name"],
            external_ref=row.get("external_ref"), amount=Money.of(amount, row["currency"]),
            probability=probability,
            probability_overridden=row["probability"] is not None,
            weighted_amount=Money.of(amount * probability / 100, row["currency"]),
            expected_close_on=row["expected_close_on"], status=row["status"],
            lost_reason=row["lost_reason"], closed_at=row["closed_at"],
            stage_entered_at=row["stage_entered_at"],
            custom_fields=row["custom_fields"], created_at=row["created_at"],
            updated_at=row["updated_at"], deleted_at=row["deleted_at"], pk=row["id"],
            stage_pk=row["stage_id"], pipeline_pk=row["pipeline_id"], owner_pk=row["owner_id"],
            company_pk=row["company_id"],
        )

    @strawberry.field
    async def stage(self, info: strawberry.Info) -> PipelineStage | None:
        return await load_stage(info, self.stage_pk)

    @strawberry.field
    async def pipeline(self, info: strawberry.Info) -> Pipeline | None:
        return await load_pipeline(info, self.pipeline_pk)

    @strawberry.field
    async def owner(self, info: strawberry.Info) -> User | None:
        return await load_user(info, self.owner_pk)

    @strawberry.field
    async def company(self, info: strawberry.Info) -> Company | None:
        return await load_company(info, self.company_pk)

    @strawberry.field(description="People (customers) involved in the deal.")
    async def people(self, info: strawberry.Info) -> list[Customer]:
        loader = info.context.loaders.keyed(
            "deal_people", lambda org_id, ids: deals.people(org_id=org_id, deal_ids=ids), []
        )
        return [Customer.from_row(row) for row in await loader.load(self.pk)]

    @strawberry.field(description="Every stage the deal entered, oldest first.")
    async def stage_history(self, info: strawberry.Info) -> list[DealStageChange]:
        loader = info.context.loaders.keyed(
            "deal_history", lambda org_id, ids: deals.history(org_id=org_id, deal_ids=ids), []
        )
        return [DealStageChange.from_row(row) for row in await loader.load(self.pk)]


@strawberry.enum(description="Orderings of deal lists.")
class DealOrderBy(Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"
    UPDATED_AT_DESC = "UPDATED_AT_DESC"
    NAME_ASC = "NAME_ASC"
    AMOUNT_DESC = "AMOUNT_DESC"
    EXPECTED_CLOSE_ASC = "EXPECTED_CLOSE_ASC"
    STAGE_ENTERED_AT_DESC = "STAGE_ENTERED_AT_DESC"
    RELEVANCE = strawberry.enum_value(
        "RELEVANCE",
        description="Best match to filter.search first (newest first without a search).",
    )


@strawberry.input(description="Which deals to list; every given condition must hold.")
class DealFilter:
    search: str | None = strawberry.field(default=None, description="Part of the name.")
    statuses: list[DealStatus] | None = None  # type: ignore[valid-type]
    pipeline_id: strawberry.ID | None = None
    stage_ids: list[strawberry.ID] | None = None
    owner_ids: list[strawberry.ID] | None = None
    company_ids: list[strawberry.ID] | None = None
    person_id: strawberry.ID | None = strawberry.field(
        default=None, description="Deals this customer is involved in."
    )
    expected_close_after: date | None = strawberry.field(default=None, description="Inclusive.")
    expected_close_before: date | None = strawberry.field(default=None, description="Exclusive.")
    min_amount: Decimal | None = None
    custom_fields: list[CustomFieldCondition] | None = strawberry.field(
        default=None, description="Conditions on defined DEAL custom fields; all must hold."
    )
    deleted: bool = strawberry.field(default=False, description="List soft-deleted ones.")

    def to_filter(self) -> deals.DealFilter:
        from core.errors import AppError, ErrorCode

        if self.search is not None and len(self.search) > 200:
            raise AppError(ErrorCode.BAD_USER_INPUT, "search must be at most 200 characters",
                           ["filter", "search"])

        def ids(values: list[strawberry.ID] | None, type_name: str, path: str) -> tuple[int, ...]:
            return tuple(decode_id(v, type_name, f"filter.{path}") for v in values or ())

        return deals.DealFilter(
            search=self.search, statuses=tuple(self.statuses or ()),
            pipeline_id=decode_id(self.pipeline_id, "Pipeline", "filter.pipelineId")
            if self.pipeline_id else None,
            stage_ids=ids(self.stage_ids, "PipelineStage", "stageIds"),
            owner_ids=ids(self.owner_ids, "User", "ownerIds"),
            company_ids=ids(self.company_ids, "Company", "companyIds"),
            person_id=decode_id(self.person_id, "Customer", "filter.personId")
            if self.person_id else None,
            expected_close_after=self.expected_close_after,
            expected_close_before=self.expected_close_before, min_amount=self.min_amount,
            custom_fields=tuple(c.raw() for c in self.custom_fields or ()), deleted=self.deleted,
        )


@strawberry.input(description="A new deal; it starts in the first stage unless told otherwise.")
class CreateDealInput:
    name: str
    external_ref: str | None = strawberry.field(
        default=None, description="Your system's key, unique in the organization."
    )
    amount: Decimal
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217; the organization's currency if omitted."
    )
    pipeline_id: strawberry.ID | None = strawberry.field(
        default=None, description="The default pipeline if omitted."
    )
    stage_id: strawberry.ID | None = None
    probability: int | None = strawberry.field(
        default=None, description="Percent; the stage's if omitted."
    )
    expected_close_on: date | None = None
    owner_id: strawberry.ID | None = None
    company_id: strawberry.ID | None = None
    person_ids: list[strawberry.ID] | None = None
    status: DealStatus = DbDealStatus.OPEN  # type: ignore[valid-type]
    lost_reason: str | None = None
    custom_fields: JSON | None = strawberry.field(
        default=None, description="Values by key, checked against the DEAL custom fields "
        "(every required one must be given).")


@strawberry.input(description="Changes to a deal; omitted fields stay, null clears. "
                  "Stages change with moveDeal.")
class UpdateDealInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    external_ref: str | None = strawberry.UNSET
    amount: Decimal | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    probability: int | None = strawberry.field(
        default=strawberry.UNSET, description="null: the stage's again."
    )
    expected_close_on: date | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    company_id: strawberry.ID | None = strawberry.UNSET
    person_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="The whole new list."
    )
    status: DealStatus | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="LOST needs a lostReason; OPEN reopens."
    )
    lost_reason: str | None = strawberry.UNSET
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="The whole new object (null clears it).")


@strawberry.input(description="A deal entering another stage (of any pipeline).")
class MoveDealInput:
    id: strawberry.ID
    stage_id: strawberry.ID


@strawberry.type
class DealPayload:
    deal: Deal | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The deals of one stage: how many, their sum and weighted sum "
                 "(amount x probability), one entry per currency.")
class DealStageStats:
    stage: PipelineStage
    count: int
    amount: list[Money]
    weighted_amount: list[Money]
    converted_amount: ConvertedMoney = strawberry.field(description=CONVERTED)
    converted_weighted_amount: ConvertedMoney = strawberry.field(description=CONVERTED)

    @classmethod
    def of(cls, stage: PipelineStage, rows: list[dict[str, Any]], org_currency: str
           ) -> DealStageStats:
        """A stage's stats from its rows (one per currency; none without deals)."""
        counted = [r for r in rows if r["currency"] is not None]
        converted_amount, converted_weighted = converted(counted, org_currency)
        return cls(
            stage=stage, count=sum(r["n"] for r in counted),
            amount=[Money.of(r["total"], r["currency"]) for r in counted],
            weighted_amount=[Money.of(r["weighted"].quantize(_PLACES), r["currency"])
                             for r in counted],
            converted_amount=converted_amount, converted_weighted_amount=converted_weighted,
        )
