"""The signed-in user's view of themselves, and login results."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db import team
from schema.errors import UserError
from schema.team import Preferences
from schema.user import Organization, User


@strawberry.type(description="The signed-in user and their organization.")
class Viewer:
    user: User
    organization: Organization

    @strawberry.field(description="What you chose for yourself (see updateMyPreferences).")
    async def preferences(self) -> Preferences:
        member = await team.get_member(self.user.pk)
        return Preferences(task_digest=bool(member and member["task_digest"]))


@strawberry.type
class LoginPayload:
    access_token: str | None = None
    expires_at: datetime | None = None
    refresh_token: str | None = strawberry.field(
        default=None, description="Exchange it with refreshToken for new tokens (used once)."
    )
    refresh_token_expires_at: datetime | None = None
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LogoutPayload:
    revoked: int = strawberry.field(
        default=0, description="How many sessions (live refresh tokens) were signed out."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)
