"""The audit log: one append-only row per committed mutation and per bulk access to personal
data (exports, imports, inbound email, unsubscribes, API keys' use of pii:read), and filtered
keyset pages of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from db.pagination import Sort, Source
from db.sql import Params, fetch

COLUMNS = (
    "t.id, t.organization_id, t.actor_user_id, t.actor_api_key_id, t.action, t.target_type,"
    " t.target_id, t.changed_fields, t.request_id, t.ip, t.created_at, t.item_count"
)
SORT = Sort("CREATED_AT_DESC", "t.created_at", "datetime", descending=True)


@dataclass(frozen=True)
class Event:
    """What one mutation or access did and who asked, without personal values."""

    organization_id: int | None
    action: str
    actor_user_id: int | None = None
    actor_api_key_id: int | None = None
    target_type: str | None = None
    target_id: int | None = None
    changed_fields: Sequence[str] = ()
    request_id: str | None = None
    ip: str | None = None
    item_count: int | None = None  # records a bulk access touched


@dataclass(frozen=True)
class AuditFilter:
    """Conditions on audit events (all optional)."""

    actions: Sequence[str] | None = None
    actor_user_id: int | None = None
    actor_api_key_id: int | None = None
    target_type: str | None = None
    target_id: int | None = None
    after: datetime | None = None
    before: datetime | None = None


async def record(event: Event, using: BaseDBAsyncClient | None = None) -> None:
    """Append ``event`` (in the caller's transaction when ``using`` is one)."""
    await fetch(
        "INSERT INTO audit_event (organization_id, actor_user_id, actor_api_key_id, action,"
        " target_type, target_id, changed_fields, request_id, ip, item_count, created_at)"
        # signing in has no organization yet: it is the signed-in user's
        " VALUES (coalesce($1, (SELECT organization_id FROM app_user WHERE id = $2)),"
        " $2, $3, $4, $5, $6, $7, $8, $9, $10, now())",
        [event.organization_id, event.actor_user_id, event.actor_api_key_id, event.action,
         event.target_type, event.target_id, sorted(set(event.changed_fields)),
         event.request_id, event.ip, event.item_count],
        using,
    )


async def record_once(event: Event) -> None:
    """Append ``event`` unless its request already recorded the same action on the same target
    (a query's resolver may run twice in one request: a compiled plan, then the generic
    executor that verifies or replaces it)."""
    await fetch(
        "INSERT INTO audit_event (organization_id, actor_user_id, actor_api_key_id, action,"
        " target_type, target_id, changed_fields, request_id, ip, item_count, created_at)"
        " SELECT $1::bigint, $2::bigint, $3::bigint, $4::text, $5::text, $6::bigint, $7::text[],"
        " $8::text, $9::text, $10::int, now() WHERE $8::text IS NULL"
        " OR NOT EXISTS (SELECT 1 FROM audit_event WHERE organization_id = $1"
        " AND target_type IS NOT DISTINCT FROM $5 AND target_id IS NOT DISTINCT FROM $6"
        " AND action = $4 AND request_id = $8)",
        [event.organization_id, event.actor_user_id, event.actor_api_key_id, event.action,
         event.target_type, event.target_id, sorted(set(event.changed_fields)),
         event.request_id, event.ip, event.item_count],
    )


def source(org_id: int, f: AuditFilter) -> Source:
    """The organization's audit events matching ``f``, as a pageable source."""
    params = Params()
    where = [f"t.organization_id = {params.add(org_id)}"]
    if f.actions:
        where.append(f"t.action = ANY({params.add(list(f.actions))})")
    for column, value in (
        ("actor_user_id", f.actor_user_id), ("actor_api_key_id", f.actor_api_key_id),
        ("target_type", f.target_type), ("target_id", f.target_id),
    ):
        if value is not None:
            where.append(f"t.{column} = {params.add(value)}")
    if f.after is not None:
        where.append(f"t.created_at >= {params.add(f.after)}")
    if f.before is not None:
        where.append(f"t.created_at < {params.add(f.before)}")
    return Source("audit_event", COLUMNS, " AND ".join(where), params)
