"""Pipelines: everyone reads them, an ADMIN edits them."""

from __future__ import annotations

from typing import Any

import strawberry

from auth.permissions import IsAdmin, IsAuthenticated
from db import pipeline as pipelines
from resolvers.common import attempt, missing
from resolvers.ids import maybe_pk, pk
from schema.pipeline import (
    CreatePipelineInput,
    Pipeline,
    PipelinePayload,
    PipelineStageInput,
    StageMoveInput,
    UpdatePipelineInput,
)


def _specs(stages: list[PipelineStageInput]) -> list[pipelines.StageSpec]:
    return [
        pipelines.StageSpec(id=maybe_pk(s.id, "PipelineStage", "input", "stages", str(i), "id"),
                            name=s.name, probability=s.probability)
        for i, s in enumerate(stages)
    ]


def _moves(moves: list[StageMoveInput] | None) -> dict[int, int]:
    return {
        pk(m.from_stage_id, "PipelineStage", "input", "moveDeals", str(i), "fromStageId"):
        pk(m.to_stage_id, "PipelineStage", "input", "moveDeals", str(i), "toStageId")
        for i, m in enumerate(moves or ())
    }


def _payload(row: dict[str, Any] | None, errors: list[Any]) -> PipelinePayload:
    return PipelinePayload(pipeline=Pipeline.from_row(row) if row else None, errors=errors)


@strawberry.type
class PipelineQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def pipelines(self, info: strawberry.Info) -> list[Pipeline]:
        """Your organization's pipelines, the default one first."""
        org_id = info.context.require_viewer().organization_id
        return [Pipeline.from_row(row) for row in await pipelines.list_(org_id=org_id)]


@strawberry.type
class PipelineMutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_pipeline(
        self, info: strawberry.Info, input: CreatePipelineInput
    ) -> PipelinePayload:
        org_id = info.context.require_viewer().organization_id
        return _payload(*await attempt(lambda: pipelines.create(
            org_id=org_id, name=input.name, stages=_specs(input.stages)
        )))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_pipeline(
        self, info: strawberry.Info, input: UpdatePipelineInput
    ) -> PipelinePayload:
        """Rename, and add, rename, reorder or remove stages (see UpdatePipelineInput)."""
        viewer = info.context.require_viewer()

        async def work() -> dict[str, Any]:
            row = await pipelines.update(
                org_id=viewer.organization_id,
                pipeline_id=pk(input.id, "Pipeline", "input", "id"), user_id=viewer.user_id,
                name=input.name,
                stages=_specs(input.stages) if input.stages is not None else None,
                moves=_moves(input.move_deals),
            )
            if row is None:
                raise missing("pipeline")
            return row

        return _payload(*await attempt(work))
