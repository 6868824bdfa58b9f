"""The team through the API: users, invitations, roles, deactivation, passwords, the
organization's settings and one's own preferences. Every mutation is audited (app/guards.py)."""

from __future__ import annotations

from typing import Any

import strawberry

from auth import accounts, identity, login_throttle
from auth.permissions import IsAdmin, IsAuthenticated, IsManager
from core.errors import AppError, ErrorCode
from db import account_token as account_tokens
from db import team
from db.enums import Role as DbRole
from db.validation import Cleaner
from resolvers.common import attempt, missing, provided
from resolvers.ids import pk
from resolvers.relay import list_
from resolvers.user import signed_in
from schema.enums import Role
from schema.errors import UserError
from schema.pagination import Connection
from schema.team import (
    Invitation,
    InvitationPayload,
    InviteUserPayload,
    OrganizationPayload,
    Preferences,
    PreferencesPayload,
    RequestPasswordResetPayload,
    SignUpInput,
    UpdateMyPreferencesInput,
    UpdateOrganizationInput,
    UserFilter,
    UserOrderBy,
    UserPayload,
)
from schema.user import Organization, User
from schema.viewer import LoginPayload
from services.email import staff


def _ip(info: strawberry.Info) -> str | None:
    client = info.context.request.client
    return client.host if client else None


def _user_id(info: strawberry.Info) -> int:
    viewer = info.context.require_viewer()
    if viewer.user_id is None:
        raise AppError(ErrorCode.FORBIDDEN, "this operation is for signed-in users only")
    return int(viewer.user_id)


async def _signed_in(info: strawberry.Info, work: Any) -> LoginPayload:
    """A sign-in payload for the user ``work`` returns, or its errors."""
    try:
        row, errors = await attempt(work)
    except AppError as exc:  # locked out: as login words it
        return LoginPayload(errors=[UserError(code=exc.code, field=None, message=exc.message)])
    if row is None:
        return LoginPayload(errors=errors)
    return await signed_in(row, info.context.settings)


async def _organization_values(input: UpdateOrganizationInput) -> dict[str, Any]:
    c = Cleaner()
    values = await team.organization_values(c, provided(input))
    c.raise_if_any()
    return values


@strawberry.type
class TeamQuery:
    @strawberry.field(permission_classes=[IsManager])
    async def users(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None, filter: UserFilter | None = None,
        order_by: UserOrderBy = UserOrderBy.EMAIL_ASC,
    ) -> Connection[User]:
        """Your organization's users (MANAGER and up), deactivated ones included unless
        filtered out."""
        f = filter.to_filter() if filter else team.UserFilter()
        return await list_(info, team.SORTS[order_by.value], lambda org: team.source(org, f),
                           User.from_row, first, after, last, before)

    @strawberry.field(permission_classes=[IsAdmin])
    async def invitations(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[Invitation]:
        """Your organization's pending invitations (ADMIN), newest first: links not yet
        accepted, revoked, replaced or expired."""
        return await list_(info, account_tokens.INVITATION_SORT, account_tokens.pending_invitations,
                           Invitation.from_row, first, after, last, before)


@strawberry.type
class TeamMutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def invite_user(
        self, info: strawberry.Info, email: str, role: Role
    ) -> InviteUserPayload:
        """Email a single-use link to join your organization with ``role`` (it expires after
        ``CRM_INVITATION_TTL_SECONDS``; inviting the address again replaces it)."""
        viewer = info.context.require_viewer()
        row, errors = await attempt(lambda: staff.invite(
            info.context.settings, org_id=viewer.organization_id, inviter_id=viewer.user_id,
            email=email, role=DbRole(role),
        ))
        if row is None:
            return InviteUserPayload(errors=errors)
        return InviteUserPayload(invitation=Invitation.from_row(row))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def revoke_invitation(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> InvitationPayload:
        """Make a pending invitation's link stop working at once (NOT_FOUND if it is not
        pending: accepted, revoked, replaced or expired)."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            row = await account_tokens.revoke_invitation(
                org_id=org_id, token_id=pk(id, "Invitation", "id"))
            if row is None:
                raise missing("pending invitation", "id")
            return row

        row, errors = await attempt(work)
        return InvitationPayload(
            invitation=Invitation.from_row(row) if row else None, errors=errors)

    @strawberry.mutation
    async def accept_invitation(
        self, info: strawberry.Info, token: str, name: str, password: str
    ) -> LoginPayload:
        """Join with the invitation's token (from its link), your name and a password of at
        least 8 characters; returns tokens as ``login`` does."""
        return await _signed_in(info, lambda: accounts.accept_invitation(
            info.context.settings, token=token, name=name, password=password, ip=_ip(info),
        ))

    @strawberry.mutation
    async def sign_up(self, info: strawberry.Info, input: SignUpInput) -> LoginPayload:
        """Create an organization with you as its first ADMIN and sign in; only on servers that
        allow self-service sign-up (``CRM_SIGNUP_ENABLED``, off by default)."""
        given = {key: value for key, value in (
            ("name", input.organization_name), ("currency", input.currency),
            ("time_zone", input.time_zone), ("locale", input.locale)) if value is not None}
        return await _signed_in(info, lambda: accounts.sign_up(
            info.context.settings, organization=given, email=input.email, name=input.name,
            password=input.password, ip=_ip(info),
        ))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_user_role(
        self, info: strawberry.Info, id: strawberry.ID, role: Role
    ) -> UserPayload:
        """Give a user of your organization another role (the last ADMIN stays one:
        ``LAST_ADMIN``). Applies to the user's next request."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            user_id = pk(id, "User", "id")
            row = await team.set_role(org_id=org_id, user_id=user_id, role=DbRole(role))
            if row is None:
                raise missing("user", "id")
            identity.forget_user(user_id)
            return row

        row, errors = await attempt(work)
        return UserPayload(user=User.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def deactivate_user(self, info: strawberry.Info, id: strawberry.ID) -> UserPayload:
        """Stop a user signing in: its access and refresh tokens stop working at once (the last
        active ADMIN cannot be deactivated: ``LAST_ADMIN``)."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            user_id = pk(id, "User", "id")
            row = await team.deactivate(org_id=org_id, user_id=user_id)
            if row is None:
                raise missing("user", "id")
            identity.forget_user(user_id)
            return row

        row, errors = await attempt(work)
        return UserPayload(user=User.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def reactivate_user(self, info: strawberry.Info, id: strawberry.ID) -> UserPayload:
        """Let a deactivated user sign in again with its password; the tokens it held before
        the deactivation stay refused."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            row = await team.reactivate(org_id=org_id, user_id=pk(id, "User", "id"))
            if row is None:
                raise missing("user", "id")
            return row

        row, errors = await attempt(work)
        return UserPayload(user=User.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def change_password(
        self, info: strawberry.Info, current_password: str, new_password: str
    ) -> LoginPayload:
        """Replace your password (the current one is checked and throttled like ``login``);
        your other sessions are signed out and new tokens returned."""
        user_id = _user_id(info)
        return await _signed_in(info, lambda: accounts.change_password(
            info.context.settings, user_id=user_id, current=current_password,
            new=new_password, ip=_ip(info),
        ))

    @strawberry.mutation
    async def request_password_reset(
        self, info: strawberry.Info, email: str
    ) -> RequestPasswordResetPayload:
        """Email a reset link to this address if it belongs to an active user; the answer is
        the same either way."""
        settings = info.context.settings
        await login_throttle.check_link_attempt(_ip(info), settings)
        await staff.request_reset(settings, email=email[:254])
        return RequestPasswordResetPayload()

    @strawberry.mutation
    async def reset_password(
        self, info: strawberry.Info, token: str, password: str
    ) -> LoginPayload:
        """Choose a new password with a reset link's token; signs you in (other sessions are
        signed out)."""
        return await _signed_in(info, lambda: accounts.reset_password(
            info.context.settings, token=token, password=password, ip=_ip(info),
        ))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_organization(
        self, info: strawberry.Info, input: UpdateOrganizationInput
    ) -> OrganizationPayload:
        """Change your organization's name, currency (ISO 4217), time zone (IANA) or locale
        (BCP 47)."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            return await team.update_organization(
                org_id=org_id, values=await _organization_values(input)
            )

        row, errors = await attempt(work)
        return OrganizationPayload(
            organization=Organization.from_row(row) if row else None, errors=errors
        )

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def update_my_preferences(
        self, info: strawberry.Info, input: UpdateMyPreferencesInput
    ) -> PreferencesPayload:
        """Change your own preferences (the daily task digest)."""
        user_id = _user_id(info)
        given = provided(input)
        if "task_digest" in given and given["task_digest"] is None:
            return PreferencesPayload(errors=[UserError(
                code=ErrorCode.BAD_USER_INPUT, field=["input", "taskDigest"],
                message="must be true or false")])
        row = await team.set_task_digest(
            user_id=user_id, enabled=given["task_digest"]
        ) if "task_digest" in given else await team.get_member(user_id)
        assert row is not None
        return PreferencesPayload(preferences=Preferences(task_digest=row["task_digest"]))
