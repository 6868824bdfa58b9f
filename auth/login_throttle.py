"""Login throttling against password guessing: failures per email and per client IP, stored in
PostgreSQL so every process sees them; past a threshold, lockouts that double with each failure."""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from auth import identity as auth
from core.config import Settings
from core.errors import AppError, ErrorCode
from db import security_tokens as store


def email_key(email: str, settings: Settings) -> str:
    """The throttle key of an email: a keyed hash, so no address is stored in the table."""
    normalized = email.strip().lower()[:254].encode()
    digest = hmac.new(settings.secret_key.encode(), normalized, hashlib.sha256).hexdigest()
    return f"email:{digest}"


def ip_key(ip: str) -> str:
    """The throttle key of a client IP."""
    return f"ip:{ip[:64]}"


def locked_out(retry_after: int) -> AppError:
    """The one error for a locked email or IP (the same whether or not the account exists)."""
    return AppError(
        ErrorCode.UNAUTHENTICATED,
        f"too many failed sign-in attempts; try again in {retry_after} seconds",
    )


async def retry_after(email: str, ip: str | None, settings: Settings) -> int:
    """Seconds until this email and IP may try to sign in again (0: now)."""
    keys = [email_key(email, settings)] + ([ip_key(ip)] if ip else [])
    until = await store.locked_until(keys)
    if until is None:
        return 0
    return max(1, math.ceil((until - datetime.now(UTC)).total_seconds()))


async def record_failure(email: str, ip: str | None, settings: Settings) -> None:
    """Count a failed sign-in against the email and the IP."""
    limits = [(email_key(email, settings), settings.login_max_failures)]
    if ip:
        limits.append((ip_key(ip), settings.login_ip_max_failures))
    for key, threshold in limits:
        await store.record_failure(
            key, threshold=threshold, base=settings.login_lockout_base_seconds,
            cap=settings.login_lockout_max_seconds,
            window=float(settings.login_failure_window_seconds),
        )


async def login(email: str, password: str, ip: str | None, settings: Settings) -> dict[str, Any]:
    """``auth.authenticate`` behind the throttle: locked out, the password is not even checked.

    Attempts on one email take turns (a transaction-scoped advisory lock), so a burst of
    parallel guesses cannot all slip in before the first failures are counted.
    """
    result = await _attempt(email, password, ip, settings)
    if isinstance(result, AppError):
        raise result
    return result


async def _attempt(
    email: str, password: str, ip: str | None, settings: Settings
) -> dict[str, Any] | AppError:
    key = email_key(email, settings)
    async with in_transaction():  # the refusal is returned, so the failure count commits
        await store.lock_key(key)
        wait = await retry_after(email, ip, settings)
        if wait:
            return locked_out(wait)
        try:
            row = await auth.authenticate(email, password)
        except AppError as exc:
            await record_failure(email, ip, settings)
            return exc
        await store.clear_failures(key)
        return row


async def check_link_attempt(ip: str | None, settings: Settings) -> None:
    """Refuse a client IP locked out by failed sign-ins or by presenting bad links (invitation
    and reset tokens are counted like passwords, so they cannot be guessed in bulk either)."""
    if not ip:
        return
    until = await store.locked_until([ip_key(ip)])
    if until is not None:
        raise locked_out(max(1, math.ceil((until - datetime.now(UTC)).total_seconds())))


async def record_link_failure(ip: str | None, settings: Settings) -> None:
    """Count a bad invitation or reset token against the client IP."""
    if ip:
        await store.record_failure(
            ip_key(ip), threshold=settings.login_ip_max_failures,
            base=settings.login_lockout_base_seconds, cap=settings.login_lockout_max_seconds,
            window=float(settings.login_failure_window_seconds),
        )
