"""Interaction queries and mutations."""

from __future__ import annotations

import strawberry

from app.permissions import IsAgent, IsAuthenticated
from db import interaction as interactions
from db.pagination import count, fetch_page
from resolvers.common import attempt, provided
from schema.interaction import (
    Interaction,
    InteractionFilter,
    InteractionOrderBy,
    InteractionPayload,
    LogInteractionInput,
)
from schema.node import decode_id
from schema.pagination import Connection, connection, page_args_for


@strawberry.type
class InteractionQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def interaction(self, info: strawberry.Info, id: strawberry.ID) -> Interaction | None:
        row = await info.context.loaders.interaction.load(decode_id(id, "Interaction"))
        return Interaction.from_row(row) if row else None

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
        org_id = info.context.require_viewer().organization_id
        sort = interactions.SORTS[order_by.value]
        args = page_args_for(info, sort, first, after, last, before)
        f = interactions.InteractionFilter(
            customer_ids=(decode_id(filter.customer_id, "Customer", "filter.customerId"),)
            if filter and filter.customer_id else (),
            channels=tuple(filter.channels or ()) if filter else (),
            direction=filter.direction if filter else None,
            occurred_after=filter.occurred_after if filter else None,
            occurred_before=filter.occurred_before if filter else None,
        )
        page = await fetch_page(interactions.source(org_id, f), sort, args)
        return connection(
            page, sort, Interaction.from_row, lambda: count(interactions.source(org_id, f))
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
            return await interactions.create(
                org_id=viewer.organization_id, user_id=viewer.user_id, data=data
            )

        row, errors = await attempt(work)
        return InteractionPayload(
            interaction=Interaction.from_row(row) if row else None, errors=errors
        )
