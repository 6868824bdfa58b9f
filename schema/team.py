"""The team through the API: listing users, invitations, role and account changes, the
organization's settings and one's own preferences."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from db import team
from db.enums import Role as DbRole
from db.sql import Row
from schema.enums import Role
from schema.errors import UserError
from schema.node import to_global_id
from schema.user import Organization, User


@strawberry.enum
class UserOrderBy(Enum):
    EMAIL_ASC = "EMAIL_ASC"
    CREATED_AT_DESC = "CREATED_AT_DESC"


@strawberry.input(description="Which users to list; every given condition must hold.")
class UserFilter:
    roles: list[Role] | None = None
    active: bool | None = None

    def to_filter(self) -> team.UserFilter:
        return team.UserFilter(roles=tuple(DbRole(r) for r in self.roles or ()),
                               active=self.active)


@strawberry.type(description="A pending invitation: a single-use link sent by email.")
class Invitation:
    id: strawberry.ID
    email: str
    role: Role
    expires_at: datetime
    created_at: datetime
    invited_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: Row) -> Invitation:
        """The API object of an ``account_token`` row of purpose INVITATION."""
        return cls(id=to_global_id("Invitation", row["id"]), email=row["email"],
                   role=row["role"], expires_at=row["expires_at"], created_at=row["created_at"],
                   invited_by_pk=row["created_by_id"])

    @strawberry.field(description="The ADMIN who sent it (null if since removed).")
    async def invited_by(self, info: strawberry.Info) -> User | None:
        if self.invited_by_pk is None:
            return None
        row = await info.context.loaders.user.load(self.invited_by_pk)
        return User.from_row(row) if row else None


@strawberry.type
class InvitationPayload:
    invitation: Invitation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InviteUserPayload:
    invitation: Invitation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UserPayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RequestPasswordResetPayload:
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description="Empty whether or not the address belongs to a user (nothing is revealed).",
    )


@strawberry.input(description="Settings to change; fields left out stay as they are.")
class UpdateOrganizationInput:
    name: str | None = strawberry.UNSET
    currency: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 4217 code, e.g. EUR."
    )
    time_zone: str | None = strawberry.field(
        default=strawberry.UNSET, description="IANA time zone, e.g. Europe/Berlin."
    )
    locale: str | None = strawberry.field(
        default=strawberry.UNSET, description="BCP 47 language tag, e.g. de-DE."
    )


@strawberry.input(description="A new organization and its first ADMIN (signUp).")
class SignUpInput:
    organization_name: str
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 code; USD if omitted."
    )
    time_zone: str | None = strawberry.field(
        default=None, description="IANA time zone; UTC if omitted."
    )
    locale: str | None = strawberry.field(
        default=None, description="BCP 47 language tag; en-US if omitted."
    )
    email: str
    name: str
    password: str = strawberry.field(description="At least 8 characters.")


@strawberry.type
class OrganizationPayload:
    organization: Organization | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="What the signed-in user chose for themselves.")
class Preferences:
    task_digest: bool = strawberry.field(
        description="Whether the daily email of due and overdue tasks is sent to you."
    )


@strawberry.input
class UpdateMyPreferencesInput:
    task_digest: bool | None = strawberry.UNSET


@strawberry.type
class PreferencesPayload:
    preferences: Preferences | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
