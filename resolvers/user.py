"""The viewer and login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import strawberry

from auth import identity as auth
from auth import login_throttle, tokens
from auth.permissions import IsAuthenticated
from core.config import Settings
from core.errors import AppError
from db.models import Organization as OrganizationModel
from schema.errors import UserError
from schema.user import Organization, User
from schema.viewer import LoginPayload, Viewer


@strawberry.type
class UserQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def viewer(self, info: strawberry.Info) -> Viewer:
        """Who you are signed in as."""
        me = info.context.require_viewer()
        row = await info.context.loaders.user.load(me.user_id)
        org = await OrganizationModel.get(id=me.organization_id)
        return Viewer(user=User.from_row(row), organization=Organization.from_model(org))


@strawberry.type
class UserMutation:
    @strawberry.mutation
    async def login(self, info: strawberry.Info, email: str, password: str) -> LoginPayload:
        """Exchange credentials for an access token (``Authorization: Bearer``) and a refresh
        token; repeated failures lock the email (and the client IP) out for a while."""
        settings = info.context.settings
        client = info.context.request.client
        try:
            row = await login_throttle.login(email, password, client and client.host, settings)
        except AppError as exc:
            return LoginPayload(errors=[UserError(code=exc.code, field=None, message=exc.message)])
        return await signed_in(row, settings)


async def signed_in(
    row: dict[str, Any], settings: Settings, refresh: tokens.RefreshToken | None = None
) -> LoginPayload:
    """The payload of a successful sign-in (or refresh): access token, refresh token, user."""
    refresh = refresh or await tokens.issue(int(row["id"]), settings)
    return LoginPayload(
        access_token=auth.issue_token(row, settings),
        expires_at=datetime.now(UTC) + timedelta(seconds=settings.access_token_ttl_seconds),
        refresh_token=refresh.token,
        refresh_token_expires_at=refresh.expires_at,
        user=User.from_row(row),
    )
