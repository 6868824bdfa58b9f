"""Deal queries and mutations, and deal stats by stage."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import strawberry

from auth.permissions import IsAgent, IsAuthenticated, IsManager
from auth.pii import refuse_personal_fields
from core.errors import AppError, ErrorCode
from db import custom_field_values as custom_values
from db import deal as deals
from db import deal_write
from db import pipeline as pipelines
from db.custom_field import ObjectType
from db.sales_enums import DealStatus
from resolvers import relay
from resolvers.common import attempt, missing, provided
from resolvers.ids import maybe_pk, pk, pks
from schema.custom_field import CustomFieldOrder
from schema.deal import (
    CreateDealInput,
    Deal,
    DealFilter,
    DealOrderBy,
    DealPayload,
    DealStageStats,
    MoveDealInput,
    UpdateDealInput,
    load_deal,
)
from schema.node import decode_id
from schema.pagination import Connection
from schema.pipeline import PipelineStage

_IDS = {"owner_id": "User", "company_id": "Company", "pipeline_id": "Pipeline",
        "stage_id": "PipelineStage"}


def _deal_data(input: CreateDealInput | UpdateDealInput) -> dict[str, Any]:
    data = provided(input)
    data.pop("id", None)
    for key, type_name in _IDS.items():
        if key in data:
            camel = key.split("_")[0] + "Id"
            data[key] = maybe_pk(data[key], type_name, "input", camel)
    if data.get("person_ids") is not None:
        data["person_ids"] = pks(data["person_ids"], "Customer", "input", "personIds")
    return data


async def deal_filter(
    info: strawberry.Info, filter: DealFilter | None, order: CustomFieldOrder | None = None
) -> deals.DealFilter:
    """The db filter of a ``DealFilter`` argument, its custom field conditions typed; a viewer
    who may not read personal data may not filter or order on personal deal fields."""
    f = filter.to_filter() if filter else deals.DealFilter()
    refuse_personal_fields(info.context, deals.custom_field_keys(f), order, deals=True)
    return await deals.with_custom_fields(info.context.require_viewer().organization_id, f)


def _payload(row: dict[str, Any] | None, errors: list[Any]) -> DealPayload:
    return DealPayload(deal=Deal.from_row(row) if row else None, errors=errors)


@strawberry.type
class DealQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def deal(self, info: strawberry.Info, id: strawberry.ID) -> Deal | None:
        """A live deal of your organization, or null."""
        return await load_deal(info, decode_id(id, "Deal"))

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def deals(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None, filter: DealFilter | None = None,
        order_by: DealOrderBy = DealOrderBy.CREATED_AT_DESC,
        order_by_custom_field: CustomFieldOrder | None = None,
    ) -> Connection[Deal]:
        """Your organization's deals, a page at a time."""
        f = await deal_filter(info, filter, order_by_custom_field)
        sort = deals.ranked(0, f)[1] if order_by is DealOrderBy.RELEVANCE else (
            deals.SORTS[order_by.value])
        if order_by_custom_field is not None:
            sort = await custom_values.order(
                org_id=info.context.require_viewer().organization_id, object_type=ObjectType.DEAL,
                key=order_by_custom_field.key, descending=order_by_custom_field.descending)
        return await relay.list_(
            info, sort, lambda org_id: deals.ranked(org_id, f)[0],
            Deal.from_row, first, after, last, before,
        )

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def deal_stats(
        self, info: strawberry.Info, pipeline_id: strawberry.ID | None = None,
        filter: DealFilter | None = None,
    ) -> list[DealStageStats]:
        """Per stage of a pipeline (the default one if omitted), in order: the deals matching
        the filter (open ones if it names no statuses), their sum and weighted sum."""
        org_id = info.context.require_viewer().organization_id
        f = await deal_filter(info, filter)
        if not f.statuses:
            f = replace(f, statuses=(DealStatus.OPEN,))
        chosen = decode_id(pipeline_id, "Pipeline", "pipelineId") if pipeline_id else (
            await pipelines.default_id(org_id) or 0)
        stages = (await pipelines.stages_of(pipeline_ids=[chosen]))[chosen]
        if not stages or stages[0]["organization_id"] != org_id:
            raise AppError(ErrorCode.NOT_FOUND, "pipeline not found", ["pipelineId"])
        rows = await deals.stats(org_id=org_id, pipeline_id=stages[0]["pipeline_id"], f=f)
        currency = await deals.org_currency(org_id)
        return [DealStageStats.of(PipelineStage.from_row(stage),
                                  [r for r in rows if r["stage_id"] == stage["id"]], currency)
                for stage in stages]


@strawberry.type
class DealMutation:
    @strawberry.mutation(permission_classes=[IsAgent])
    async def create_deal(self, info: strawberry.Info, input: CreateDealInput) -> DealPayload:
        """A new deal, in the first stage of its pipeline unless a stage is given."""
        viewer = info.context.require_viewer()
        return _payload(*await attempt(lambda: deal_write.create(
            org_id=viewer.organization_id, user_id=viewer.user_id, data=_deal_data(input)
        )))

    @strawberry.mutation(permission_classes=[IsAgent])
    async def update_deal(self, info: strawberry.Info, input: UpdateDealInput) -> DealPayload:
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            row = await deal_write.update(
                org_id=org_id, deal_id=pk(input.id, "Deal", "input", "id"),
                data=_deal_data(input),
            )
            if row is None:
                raise missing("deal")
            return row

        return _payload(*await attempt(work))

    @strawberry.mutation(permission_classes=[IsAgent])
    async def move_deal(self, info: strawberry.Info, input: MoveDealInput) -> DealPayload:
        """Put a deal in another stage; the move is kept in its stageHistory."""
        viewer = info.context.require_viewer()

        async def work() -> dict[str, Any]:
            row = await deal_write.move(
                org_id=viewer.organization_id, deal_id=pk(input.id, "Deal", "input", "id"),
                stage_id=pk(input.stage_id, "PipelineStage", "input", "stageId"),
                user_id=viewer.user_id,
            )
            if row is None:
                raise missing("deal")
            return row

        return _payload(*await attempt(work))

    @strawberry.mutation(permission_classes=[IsManager])
    async def delete_deal(self, info: strawberry.Info, id: strawberry.ID) -> DealPayload:
        """Soft-delete: the deal disappears from lists and stats."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            row = await deal_write.set_deleted(org_id=org_id, deal_id=pk(id, "Deal", "id"))
            if row is None:
                raise missing("deal", "id")
            return row

        return _payload(*await attempt(work))
