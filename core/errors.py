"""Errors clients can act on. Anything else is internal and masked before it leaves the server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    # the change would leave the organization without an active ADMIN
    LAST_ADMIN = "LAST_ADMIN"
    # the database cannot be reached right now (restarting, failing over): retry shortly
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


@dataclass(frozen=True)
class FieldError:
    """One user mistake and the input field it concerns, as a path like ``["input", "email"]``."""

    code: ErrorCode
    field: tuple[str, ...]
    message: str


class AppError(Exception):
    """An error whose message is meant for the client; ``extensions.code`` says what kind."""

    def __init__(
        self, code: ErrorCode, message: str, field: Sequence[str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = tuple(field) if field else None

    @property
    def extensions(self) -> dict[str, Any]:
        extensions: dict[str, Any] = {"code": self.code.value}
        if self.field:
            extensions["field"] = list(self.field)
        return extensions


class InputError(AppError):
    """One or more field errors in a mutation's input; mutations return them in their payload."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        first = errors[0]
        super().__init__(first.code, first.message, first.field)
        self.errors = list(errors)


def not_found(what: str, field: Sequence[str] | None = None) -> AppError:
    """The uniform error for unknown ids and ids of other organizations (they look the same)."""
    return AppError(ErrorCode.NOT_FOUND, f"{what} not found", field)
