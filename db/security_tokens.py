"""Data access for refresh tokens and login throttling: atomic, safe across processes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from db.sql import client, fetch, fetch_one


async def create_refresh_token(
    *, user_id: int, family: uuid.UUID, token_hash: str, expires_at: datetime
) -> None:
    """Store a new refresh token (its hash) in ``family``."""
    await client().execute_query(
        "INSERT INTO refresh_token (user_id, family, token_hash, created_at, expires_at)"
        " VALUES ($1, $2, $3, now(), $4)",
        [user_id, family, token_hash, expires_at],
    )


async def use_refresh_token(token_hash: str) -> dict[str, Any] | None:
    """Mark a live token as used (exactly once, even under races) and return its row."""
    return await fetch_one(
        "UPDATE refresh_token SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL"
        " AND revoked_at IS NULL AND expires_at > now() RETURNING id, user_id, family",
        [token_hash],
    )


async def get_refresh_token(token_hash: str) -> dict[str, Any] | None:
    """A token by hash, whatever its state."""
    return await fetch_one(
        "SELECT id, user_id, family, used_at, revoked_at, expires_at FROM refresh_token"
        " WHERE token_hash = $1",
        [token_hash],
    )


async def revoke_family(family: uuid.UUID) -> int:
    """Revoke every token of a family; how many of them were live (unused, unexpired)."""
    rows = await fetch(
        "UPDATE refresh_token SET revoked_at = now() WHERE family = $1 AND revoked_at IS NULL"
        " RETURNING id, used_at IS NULL AND expires_at > now() AS live",
        [family],
    )
    return sum(1 for row in rows if row["live"])


async def revoke_user(user_id: int) -> int:
    """Revoke every token of a user (sign out everywhere); how many were live."""
    rows = await fetch(
        "UPDATE refresh_token SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL"
        " RETURNING id, used_at IS NULL AND expires_at > now() AS live",
        [user_id],
    )
    return sum(1 for row in rows if row["live"])


async def purge_refresh_tokens(older_than: datetime) -> None:
    """Forget tokens that expired before ``older_than``."""
    await client().execute_query("DELETE FROM refresh_token WHERE expires_at < $1", [older_than])


async def lock_key(key: str) -> None:
    """Wait for, then hold until the transaction ends, the sign-in turn of ``key``."""
    await client().execute_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 6))", [key])


async def locked_until(keys: Sequence[str]) -> datetime | None:
    """The latest lockout still running for any of ``keys``."""
    row = await fetch_one(
        "SELECT max(locked_until) AS until FROM login_throttle"
        " WHERE key = ANY($1) AND locked_until > now()",
        [list(keys)],
    )
    return row["until"] if row else None


_FAILURES = (
    "CASE WHEN t.last_failure_at < now() - make_interval(secs => $5::float8)"
    " THEN 1 ELSE t.failures + 1 END"
)


async def record_failure(
    key: str, *, threshold: int, base: float, cap: float, window: float
) -> None:
    """Count a failure of ``key``; from ``threshold`` failures on, lock it out (doubling)."""
    await client().execute_query(
        "INSERT INTO login_throttle AS t (key, failures, last_failure_at, locked_until)"
        " VALUES ($1, 1, now(), CASE WHEN $2::int <= 1"
        " THEN now() + make_interval(secs => $3::float8) END)"
        " ON CONFLICT (key) DO UPDATE SET"
        f" failures = {_FAILURES}, last_failure_at = now(),"
        f" locked_until = CASE WHEN {_FAILURES} >= $2::int THEN now() + make_interval(secs =>"
        f" least($4::float8, $3::float8 * power(2, least({_FAILURES} - $2::int, 40))))"
        " ELSE NULL END",
        [key, threshold, base, cap, window],
    )


async def clear_failures(key: str) -> None:
    """Forget the failures of ``key`` (after a successful sign-in)."""
    await client().execute_query("DELETE FROM login_throttle WHERE key = $1", [key])


async def purge_throttles(older_than: datetime) -> None:
    """Forget throttles whose last failure is before ``older_than`` and that are not locked."""
    await client().execute_query(
        "DELETE FROM login_throttle WHERE last_failure_at < $1"
        " AND (locked_until IS NULL OR locked_until < now())",
        [older_than],
    )
