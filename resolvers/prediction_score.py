"""Custom predictions: the definitions query and the ADMIN's define/update/delete mutations."""

from __future__ import annotations

from typing import Any

import strawberry

from auth.permissions import IsAdmin, IsAuthenticated
from db import prediction_definition as definitions
from resolvers.common import attempt, missing, provided
from schema.node import decode_id, to_global_id
from schema.prediction_score import (
    DefinePredictionInput,
    DeletePredictionPayload,
    PredictionDefinition,
    PredictionDefinitionPayload,
    UpdatePredictionInput,
)


def _org(info: strawberry.Info) -> int:
    return int(info.context.require_viewer().organization_id)


def _data(input: DefinePredictionInput | UpdatePredictionInput) -> dict[str, Any]:
    data = provided(input)
    data.pop("id", None)
    if data.get("outcome") is not None:
        data["outcome"] = data["outcome"].to_outcome()
    return data


def _payload(row: dict[str, Any] | None, errors: Any) -> PredictionDefinitionPayload:
    return PredictionDefinitionPayload(
        prediction=PredictionDefinition.from_row(row) if row else None, errors=errors
    )


@strawberry.type
class PredictionScoreQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def prediction_definitions(self, info: strawberry.Info) -> list[PredictionDefinition]:
        """Your organization's custom predictions, by name, with how their training went."""
        return [PredictionDefinition.from_row(r)
                for r in await definitions.list_(org_id=_org(info))]


@strawberry.type
class PredictionScoreMutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def define_prediction(
        self, info: strawberry.Info, input: DefinePredictionInput
    ) -> PredictionDefinitionPayload:
        """Define a yes/no outcome and a horizon; the next training run (trainModels or the
        schedule) learns it, and serves it only if it beats the base rate."""
        user_id = info.context.require_viewer().user_id
        return _payload(*await attempt(lambda: definitions.create(
            org_id=_org(info), user_id=user_id, data=_data(input))))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_prediction(
        self, info: strawberry.Info, input: UpdatePredictionInput
    ) -> PredictionDefinitionPayload:
        """Rename or redefine a custom prediction."""
        async def work() -> dict[str, Any]:
            row = await definitions.update(
                org_id=_org(info), definition_id=decode_id(input.id, "PredictionDefinition",
                                                           "input.id"), data=_data(input))
            if row is None:
                raise missing("prediction")
            return row

        return _payload(*await attempt(work))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def delete_prediction(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> DeletePredictionPayload:
        """Remove a custom prediction with its models and scores."""
        async def work() -> strawberry.ID:
            pk = decode_id(id, "PredictionDefinition", "id")
            if not await definitions.delete(org_id=_org(info), definition_id=pk):
                raise missing("prediction", "id")
            return strawberry.ID(to_global_id("PredictionDefinition", pk))

        deleted, errors = await attempt(work)
        return DeletePredictionPayload(deleted_id=deleted, errors=errors)
