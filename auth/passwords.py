"""The rules every new password follows (accepting an invitation, changing or resetting one,
``crm users create``): long enough to resist guessing, short enough to hash cheaply."""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import ErrorCode, FieldError, InputError

MIN_LENGTH = 8
MAX_LENGTH = 256  # argon2 hashes any length; a cap keeps hostile requests cheap


def problem(password: str) -> str | None:
    """What is wrong with ``password`` as a new password, or None."""
    if len(password) < MIN_LENGTH:
        return f"must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must have at most {MAX_LENGTH} characters"
    if not password.strip():
        return "must not be blank"
    return None


def check(password: str, field: Sequence[str] = ("password",)) -> str:
    """``password`` if it is acceptable, else an input error at ``field``."""
    found = problem(password)
    if found is not None:
        raise InputError([FieldError(ErrorCode.BAD_USER_INPUT, tuple(field), found)])
    return password
