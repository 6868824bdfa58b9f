"""API keys of an organization: create, list, revoke, look up by hash, note their use."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from db.custom_field import PERSONAL_COMPANY_KEYS, PERSONAL_DEAL_KEYS
from db.sql import fetch, fetch_one

COLUMNS = (
    "id, organization_id, name, prefix, scopes, created_by_id, created_at, expires_at,"
    " revoked_at, last_used_at"
)
# lastUsedAt is written at most this often per key, so busy keys cost no extra writes
TOUCH_EVERY = timedelta(minutes=1)
# a key's use of pii:read is audited on its first request in each such period (not on every
# request: the hot path stays one statement and the log stays readable)
PII_AUDIT_EVERY = timedelta(hours=1)
PII_AUDIT_ACTION = "apiKeyPiiRead"
_TOUCH_DUE = "(k.last_used_at IS NULL OR k.last_used_at < $3)"
_PII_DUE = "('pii:read' = ANY(k.scopes) AND (k.pii_audited_at IS NULL OR k.pii_audited_at < $4))"


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
    """The key with this secret hash, whatever its state, with its organization's personal
    custom-field keys; a usable one is noted as used in the same statement (at most once per
    TOUCH_EVERY), and so is its use of ``pii:read`` in the audit log (at most once per
    PII_AUDIT_EVERY), so a request costs one round trip.

    The conditions are checked on the key's row as the UPDATE finds it (after waiting for a
    concurrent one), so two processes never both audit one period.
    """
    return await fetch_one(
        f"WITH found AS (SELECT {COLUMNS} FROM api_key WHERE secret_hash = $1),"
        " touched AS (UPDATE api_key k SET"
        " last_used_at = CASE WHEN " + _TOUCH_DUE + " THEN $2 ELSE k.last_used_at END,"
        " pii_audited_at = CASE WHEN " + _PII_DUE + " THEN $2 ELSE k.pii_audited_at END"
        " WHERE k.id = (SELECT id FROM found WHERE revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > $2))"
        " AND (" + _TOUCH_DUE + " OR " + _PII_DUE + ")"
        " RETURNING k.id, k.organization_id, k.pii_audited_at = $2 AS pii_audited),"
        " audited AS (INSERT INTO audit_event (organization_id, actor_api_key_id, action,"
        " changed_fields, created_at)"
        f" SELECT organization_id, id, '{PII_AUDIT_ACTION}', '{{}}', $2"
        " FROM touched WHERE pii_audited RETURNING id)"
        " SELECT found.*, o.personal_custom_fields,"
        f" {PERSONAL_DEAL_KEYS} AS personal_deal_fields,"
        f" {PERSONAL_COMPANY_KEYS} AS personal_company_fields"
        " FROM found"
        " JOIN organization o ON o.id = found.organization_id",
        [secret_hash, now, now - TOUCH_EVERY, now - PII_AUDIT_EVERY],
    )


async def get_by_hash(secret_hash: str) -> dict[str, Any] | None:
    """The key with this secret hash, whatever its state."""
    return await fetch_one(f"SELECT {COLUMNS} FROM api_key WHERE secret_hash = $1", [secret_hash])
