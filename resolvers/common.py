"""Helpers every domain's mutations share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry

from core.errors import AppError, ErrorCode, FieldError, InputError
from schema.errors import UserError

T = TypeVar("T")
_PAYLOAD_CODES = {ErrorCode.BAD_USER_INPUT, ErrorCode.NOT_FOUND, ErrorCode.DUPLICATE}


async def attempt(work: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Run a mutation's work; user mistakes come back as payload errors, nothing is written."""
    try:
        return await work(), []
    except InputError as exc:
        return None, [UserError.from_field_error(e) for e in exc.errors]
    except AppError as exc:
        if exc.code not in _PAYLOAD_CODES:
            raise
        return None, [UserError(code=exc.code, field=list(exc.field or ()) or None,
                                message=exc.message)]


def provided(obj: object, renames: dict[str, str] | None = None) -> dict[str, Any]:
    """The fields of an input object that were given (UNSET ones left out)."""
    renames = renames or {}
    return {
        renames.get(name, name): value
        for name, value in vars(obj).items()
        if value is not strawberry.UNSET
    }


def missing(what: str, *path: str) -> InputError:
    """The payload error for an unknown (or other organization's) id at ``path``."""
    field = path or ("input", "id")
    return InputError([FieldError(ErrorCode.NOT_FOUND, field, f"{what} not found")])
