"""API keys of an organization: create, list, revoke, look up by hash, note their use."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from db.sql import fetch, fetch_one

COLUMNS = (
    "id, organization_id, name, prefix, scopes, created_by_id, created_at, expires_at,"
    " revoked_at, last_used_at"
)
# lastUsedAt is written at most this often per key, so busy keys cost no extra writes
TOUCH_EVERY = timedelta(minutes=1)


async def create(
    *, org_id: int, user_id: int | None, name: str, prefix: str, secret_hash: str,
    scopes: list[str], expires_at: datetime | None,
) -> dict[str, Any]:
    """A new key (its secret only as a hash)."""
    row = await fetch_one(
        "INSERT INTO api_key (organization_id, name, prefix, secret_hash, scopes, created_by_id,"
        " created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, now(), $7)"
        f" RETURNING {COLUMNS}", [org_id, name, prefix, secret_hash, scopes, user_id, expires_at],
    )
    assert row is not None
    return row


async def list_(*, org_id: int) -> list[dict[str, Any]]:
    """Every key of the organization, newest first (revoked ones too)."""
    return await fetch(
        f"SELECT {COLUMNS} FROM api_key WHERE organization_id = $1"
        " ORDER BY created_at DESC, id DESC", [org_id],
    )


async def revoke(*, org_id: int, key_id: int) -> dict[str, Any] | None:
    """Revoke a key of the organization (revoking twice keeps the first time); None if unknown."""
    return await fetch_one(
        "UPDATE api_key SET revoked_at = coalesce(revoked_at, now())"
        f" WHERE id = $1 AND organization_id = $2 RETURNING {COLUMNS}", [key_id, org_id],
    )


async def use_by_hash(secret_hash: str, now: datetime) -> dict[str, Any] | None:
    """The key with this secret hash, whatever its state; a usable one is noted as used in the
    same statement (at most once per TOUCH_EVERY), so a request costs one round trip."""
    return await fetch_one(
        f"WITH found AS (SELECT {COLUMNS} FROM api_key WHERE secret_hash = $1),"
        " used AS (UPDATE api_key SET last_used_at = $2 WHERE id = (SELECT id FROM found"
        " WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2))"
        " AND (last_used_at IS NULL OR last_used_at < $3) RETURNING id)"
        " SELECT * FROM found", [secret_hash, now, now - TOUCH_EVERY],
    )


async def get_by_hash(secret_hash: str) -> dict[str, Any] | None:
    """The key with this secret hash, whatever its state."""
    return await fetch_one(f"SELECT {COLUMNS} FROM api_key WHERE secret_hash = $1", [secret_hash])
