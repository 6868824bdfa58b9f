"""Interaction queries and mutations."""

from __future__ import annotations

import strawberry

from auth.permissions import IsAgent, IsAuthenticated
from db import interaction as interactions
from resolvers import relay
from resolvers.common import attempt, provided
from resolvers.ids import maybe_pk
from schema.interaction import (
    Interaction,
    InteractionFilter,
    InteractionOrderBy,
    InteractionPayload,
    LogInteractionInput,
)
from schema.node import decode_id
from schema.pagination import Connection


@strawberry.type
class InteractionQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def interaction(self, info: strawberry.Info, id: strawberry.ID) -> Interaction | None:
        return await relay.get_by_id(
            info, id, "Interaction", "interaction", Interaction.from_row
        )

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def interactions(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: InteractionFilter | None = None,
        order_by: InteractionOrderBy = InteractionOrderBy.OCCURRED_AT_DESC,
    ) -> Connection[Interaction]:
        """Interactions across your organization, latest first by default."""
        f = filter.to_filter() if filter else interactions.InteractionFilter()
        return await relay.list_(
            info, interactions.SORTS[order_by.value],
            lambda org_id: interactions.source(org_id, f),
            Interaction.from_row, first, after, last, before,
        )


@strawberry.type
class InteractionMutation:
    @strawberry.mutation(permission_classes=[IsAgent])
    async def log_interaction(
        self, info: strawberry.Info, input: LogInteractionInput
    ) -> InteractionPayload:
        """Record a call, meeting, message or note with a customer."""
        viewer = info.context.require_viewer()

        async def work() -> dict[str, object]:
            data = provided(input)
            data["customer_id"] = decode_id(input.customer_id, "Customer", "input.customerId")
            data["deal_id"] = maybe_pk(input.deal_id, "Deal", "input", "dealId")
            data["company_id"] = maybe_pk(input.company_id, "Company", "input", "companyId")
            return await interactions.create(
                org_id=viewer.organization_id, user_id=viewer.user_id, data=data
            )

        row, errors = await attempt(work)
        return InteractionPayload(
            interaction=Interaction.from_row(row) if row else None, errors=errors
        )
