"""The viewer and login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import strawberry

from app import auth
from app.errors import AppError
from app.permissions import IsAuthenticated
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
        """Exchange credentials for an access token (send it as ``Authorization: Bearer``)."""
        settings = info.context.settings
        try:
            row = await auth.authenticate(email, password)
        except AppError as exc:
            return LoginPayload(errors=[UserError(code=exc.code, field=None, message=exc.message)])
        return LoginPayload(
            access_token=auth.issue_token(row, settings),
            expires_at=datetime.now(UTC) + timedelta(seconds=settings.access_token_ttl_seconds),
            user=User.from_row(row),
        )
