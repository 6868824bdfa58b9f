"""Partner access (API keys) and the audit log: ADMIN only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry

from auth import api_keys
from auth.permissions import IsAdmin
from auth.scopes import Scope, parse_scopes
from core.errors import AppError, ErrorCode, FieldError, InputError
from db import api_key as keys
from db import audit
from resolvers.common import attempt, missing
from schema.node import decode_id, parse_global_id
from schema.pagination import Connection, root_connection
from schema.security import (
    ApiKey,
    ApiKeyPayload,
    AuditEvent,
    AuditEventFilter,
    CreateApiKeyPayload,
)


def _bad(field: str, message: str) -> InputError:
    return InputError([FieldError(ErrorCode.BAD_USER_INPUT, (field,), message)])


def _checked_key_input(name: str, scopes: list[str], expires_at: datetime | None) -> list[str]:
    if not name.strip() or len(name) > 200:
        raise _bad("name", "name must be 1 to 200 characters")
    try:
        parsed = parse_scopes(scopes)
    except ValueError as exc:
        known = ", ".join(s.value for s in Scope)
        raise _bad("scopes", f"{exc}; known scopes: {known}") from None
    if not parsed:
        raise _bad("scopes", "give at least one scope")
    if expires_at is not None and expires_at.tzinfo is None:
        raise _bad("expiresAt", "expiresAt must have a time zone")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise _bad("expiresAt", "expiresAt must be in the future")
    return sorted(s.value for s in parsed)


def _audit_filter(f: AuditEventFilter | None) -> audit.AuditFilter:
    if f is None:
        return audit.AuditFilter()
    actor_user = actor_key = target_type = target_id = None
    if f.actor_id is not None:
        kind, pk = parse_global_id(f.actor_id, "filter.actorId")
        if kind not in ("User", "ApiKey"):
            raise AppError(ErrorCode.BAD_USER_INPUT, "filter.actorId must be a User or ApiKey id",
                           ["filter", "actorId"])
        actor_user, actor_key = (pk, None) if kind == "User" else (None, pk)
    if f.target_id is not None:
        target_type, target_id = parse_global_id(f.target_id, "filter.targetId")
    return audit.AuditFilter(
        actions=f.actions, actor_user_id=actor_user, actor_api_key_id=actor_key,
        target_type=target_type, target_id=target_id, after=f.after, before=f.before,
    )


@strawberry.type
class SecurityQuery:
    @strawberry.field(permission_classes=[IsAdmin])
    async def api_keys(self, info: strawberry.Info) -> list[ApiKey]:
        """Your organization's API keys, newest first (revoked ones too)."""
        org_id = info.context.require_viewer().organization_id
        return [ApiKey.from_row(row) for row in await keys.list_(org_id=org_id)]

    @strawberry.field(permission_classes=[IsAdmin])
    async def audit_events(
        self, info: strawberry.Info, filter: AuditEventFilter | None = None,
        first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[AuditEvent]:
        """What was changed in your organization, by whom, newest first."""
        org_id = info.context.require_viewer().organization_id
        f = _audit_filter(filter)
        return await root_connection(
            info, audit.SORT, lambda: audit.source(org_id, f), AuditEvent.from_row,
            first, after, last, before,
        )


@strawberry.type
class SecurityMutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_api_key(
        self, info: strawberry.Info, name: str, scopes: list[str],
        expires_at: datetime | None = None,
    ) -> CreateApiKeyPayload:
        """A new key for a partner; its secret is in this payload and never shown again."""
        viewer = info.context.require_viewer()

        async def work() -> tuple[dict[str, Any], str]:
            names = _checked_key_input(name, scopes, expires_at)
            new = api_keys.generate()
            row = await keys.create(
                org_id=viewer.organization_id, user_id=viewer.user_id, name=name.strip(),
                prefix=new.prefix, secret_hash=new.secret_hash, scopes=names,
                expires_at=expires_at,
            )
            return row, new.secret

        made, errors = await attempt(work)
        if made is None:
            return CreateApiKeyPayload(errors=errors)
        return CreateApiKeyPayload(api_key=ApiKey.from_row(made[0]), secret=made[1])

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def revoke_api_key(self, info: strawberry.Info, id: strawberry.ID) -> ApiKeyPayload:
        """Revoke a key at once; requests with it are refused from now on."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            row = await keys.revoke(org_id=org_id, key_id=decode_id(id, "ApiKey"))
            if row is None:
                raise missing("API key", "id")
            return row

        row, errors = await attempt(work)
        return ApiKeyPayload(api_key=ApiKey.from_row(row) if row else None, errors=errors)
