"""Refresh tokens: opaque, stored hashed, rotated on every use; reuse revokes the whole family."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core.config import Settings
from core.errors import AppError, ErrorCode
from db import security_tokens as store
from db import user as users

log = logging.getLogger("crm.tokens")
PREFIX = "crmr_"  # tells refresh tokens apart from access tokens (JWTs) and API keys
PURGE_INTERVAL_SECONDS = 3600.0


@dataclass(frozen=True)
class RefreshToken:
    """A freshly issued refresh token: the secret is only ever in this object and the response."""

    token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    """What is stored of a token (it has 256 random bits, so a plain SHA-256 is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


def invalid_refresh_token() -> AppError:
    """The one error for unknown, used, revoked and expired refresh tokens."""
    return AppError(ErrorCode.UNAUTHENTICATED, "invalid or expired refresh token")


async def issue(user_id: int, settings: Settings, family: uuid.UUID | None = None) -> RefreshToken:
    """A new refresh token for ``user_id``, starting a family unless one is given."""
    token = PREFIX + secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(seconds=settings.refresh_token_ttl_seconds)
    await store.create_refresh_token(
        user_id=user_id, family=family or uuid.uuid4(), token_hash=token_hash(token),
        expires_at=expires_at,
    )
    return RefreshToken(token, expires_at)


async def rotate(token: str, settings: Settings) -> tuple[dict[str, Any], RefreshToken]:
    """The user a live refresh token belongs to and its successor; the token is used up.

    A token that was already used (or revoked) means it leaked: its whole family is revoked.
    """
    if not token.startswith(PREFIX) or len(token) > 200:
        raise invalid_refresh_token()
    digest = token_hash(token)
    row = await store.use_refresh_token(digest)
    if row is None:
        known = await store.get_refresh_token(digest)
        if known is not None and (known["used_at"] or known["revoked_at"]):
            revoked = await store.revoke_family(known["family"])
            if revoked:
                log.warning("refresh token reused: family of user %s revoked", known["user_id"])
        raise invalid_refresh_token()
    user = await users.get_active(int(row["user_id"]))
    if user is None:
        await store.revoke_family(row["family"])
        raise invalid_refresh_token()
    return user, await issue(int(user["id"]), settings, family=row["family"])


async def revoke(token: str) -> int:
    """Revoke the family of ``token`` (sign out of that session); the number of tokens revoked."""
    known = await store.get_refresh_token(token_hash(token))
    return 0 if known is None else await store.revoke_family(known["family"])


async def revoke_all(user_id: int) -> int:
    """Revoke every refresh token of a user (sign out everywhere)."""
    return await store.revoke_user(user_id)


async def purge_expired(settings: Settings) -> None:
    """Forget refresh tokens a day past expiry and login failures past the failure window."""
    now = datetime.now(UTC)
    await store.purge_refresh_tokens(now - timedelta(days=1))
    await store.purge_throttles(now - timedelta(seconds=settings.login_failure_window_seconds))


@asynccontextmanager
async def service(app: Any, settings: Settings) -> AsyncIterator[None]:
    """Purges expired tokens and stale login throttles hourly while the app runs."""

    async def loop() -> None:
        while True:
            try:
                await purge_expired(settings)
            except Exception:  # an outage must not end the loop; the next round retries
                log.warning("purging expired tokens failed", exc_info=True)
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)

    task = asyncio.create_task(loop(), name="token-purge")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
