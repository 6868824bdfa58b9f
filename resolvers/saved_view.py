"""Saved views: each signed-in user's own named customer lists (never an API key's)."""

from __future__ import annotations

from typing import Any

import strawberry

from auth.permissions import IsAuthenticated
from db import saved_view as views
from resolvers.common import attempt, missing
from schema.node import decode_id
from schema.saved_view import SavedView, SavedViewPayload, SaveViewInput


def _user(info: strawberry.Info) -> tuple[int, int]:
    viewer = info.context.require_viewer()
    assert viewer.user_id is not None  # USER_ONLY in auth/scopes.py: keys never get here
    return viewer.organization_id, viewer.user_id


@strawberry.type
class SavedViewQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def saved_views(self, info: strawberry.Info) -> list[SavedView]:
        """Your saved customer views in this organization, by name."""
        org_id, user_id = _user(info)
        return [SavedView.from_row(r) for r in await views.list_(org_id=org_id, user_id=user_id)]


@strawberry.type
class SavedViewMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def save_view(self, info: strawberry.Info, input: SaveViewInput) -> SavedViewPayload:
        """Save a customer filter and order under a name (replacing your view of that name)."""
        org_id, user_id = _user(info)

        async def work() -> dict[str, Any]:
            name, filter_ = views.checked(input.name, input.filter)
            return await views.save(org_id=org_id, user_id=user_id, name=name, filter_=filter_,
                                    order_by=input.order_by.value)

        row, errors = await attempt(work)
        return SavedViewPayload(view=SavedView.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def delete_view(self, info: strawberry.Info, id: strawberry.ID) -> SavedViewPayload:
        """Delete one of your saved views."""
        org_id, user_id = _user(info)

        async def work() -> dict[str, Any]:
            row = await views.delete(org_id=org_id, user_id=user_id,
                                     view_id=decode_id(id, "SavedView"))
            if row is None:
                raise missing("Saved view", "id")
            return row

        row, errors = await attempt(work)
        return SavedViewPayload(view=SavedView.from_row(row) if row else None, errors=errors)
