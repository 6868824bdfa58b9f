"""Pipelines and their stages as the API shows them, with the inputs an ADMIN edits them by."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db import pipeline as pipelines
from db.sql import Row
from schema.errors import UserError
from schema.node import Node, to_global_id


@strawberry.type(description="One step of a pipeline.")
class PipelineStage(Node):
    id: strawberry.ID
    name: str
    position: int = strawberry.field(description="1 for the first stage.")
    probability: int = strawberry.field(
        description="Percent chance a deal in this stage is won, unless the deal says otherwise."
    )
    pipeline_pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Row) -> PipelineStage:
        return cls(id=to_global_id("PipelineStage", row["id"]), name=row["name"],
                   position=row["position"], probability=row["probability"],
                   pipeline_pk=row["pipeline_id"])


async def load_stage(info: strawberry.Info, pk: int) -> PipelineStage | None:
    """A stage of the caller's organization, batched per operation."""
    loader = info.context.loaders.keyed(
        "pipeline_stage", lambda org_id, ids: pipelines.get_stages(org_id=org_id, ids=ids)
    )
    row = await loader.load(pk)
    return PipelineStage.from_row(row) if row else None


async def load_pipeline(info: strawberry.Info, pk: int) -> Pipeline | None:
    """A pipeline of the caller's organization, batched per operation."""
    loader = info.context.loaders.keyed(
        "pipeline", lambda org_id, ids: pipelines.get_many(org_id=org_id, ids=ids)
    )
    row = await loader.load(pk)
    return Pipeline.from_row(row) if row else None


@strawberry.type(description="A sales process: the ordered stages deals move through.")
class Pipeline(Node):
    id: strawberry.ID
    name: str
    is_default: bool = strawberry.field(description="New deals go here unless told otherwise.")
    created_at: datetime
    pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Row) -> Pipeline:
        return cls(id=to_global_id("Pipeline", row["id"]), name=row["name"],
                   is_default=row["is_default"], created_at=row["created_at"], pk=row["id"])

    @strawberry.field(description="In order.")
    async def stages(self, info: strawberry.Info) -> list[PipelineStage]:
        loader = info.context.loaders.keyed(
            "pipeline_stages", lambda _org, ids: pipelines.stages_of(pipeline_ids=ids), []
        )
        return [PipelineStage.from_row(row) for row in await loader.load(self.pk)]


@strawberry.input(description="A stage in the order wanted: an existing one by id, or a new one.")
class PipelineStageInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Omit for a new stage.")
    name: str | None = strawberry.field(default=None, description="Required for a new stage.")
    probability: int | None = strawberry.field(
        default=None, description="Percent, 0 to 100; required for a new stage."
    )


@strawberry.input(description="Where the deals of a removed stage go.")
class StageMoveInput:
    from_stage_id: strawberry.ID
    to_stage_id: strawberry.ID


@strawberry.input(description="A new pipeline.")
class CreatePipelineInput:
    name: str
    stages: list[PipelineStageInput]


@strawberry.input(
    description="Changes to a pipeline. ``stages`` lists every stage in the new order: stages "
    "left out are removed, and the deals of a removed stage need a moveDeals entry."
)
class UpdatePipelineInput:
    id: strawberry.ID
    name: str | None = None
    stages: list[PipelineStageInput] | None = None
    move_deals: list[StageMoveInput] | None = None


@strawberry.type
class PipelinePayload:
    pipeline: Pipeline | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
