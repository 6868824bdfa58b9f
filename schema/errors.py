"""User errors returned inside mutation payloads."""

from __future__ import annotations

import strawberry

from core.errors import ErrorCode, FieldError

strawberry.enum(ErrorCode)


@strawberry.type(description="A mistake in the input, tied to the field it concerns.")
class UserError:
    code: ErrorCode
    field: list[str] | None = strawberry.field(
        description='Path to the input field, e.g. ["input", "email"]; null for the whole input.'
    )
    message: str

    @classmethod
    def from_field_error(cls, error: FieldError) -> UserError:
        return cls(code=error.code, field=list(error.field) or None, message=error.message)
