"""Saved views: a user's named customer-list filters, one set per user and organization."""

from __future__ import annotations

from typing import Any

from core.errors import ErrorCode, FieldError, InputError
from db import validation
from db.sql import fetch, fetch_one

COLUMNS = "id, organization_id, user_id, name, filter, order_by, created_at, updated_at"
MAX_NAME = 100
MAX_VIEWS = 200  # per user and organization: a list a person reads, not a data store


def _bad(field: str, message: str, code: ErrorCode = ErrorCode.BAD_USER_INPUT) -> InputError:
    return InputError([FieldError(code, ("input", field), message)])


def checked(name: str, filter_: Any) -> tuple[str, dict[str, Any]]:
    """The trimmed name and the filter object; wrong ones are refused with their field."""
    clean = " ".join(name.split())
    if not clean or len(clean) > MAX_NAME or not clean.isprintable():
        raise _bad("name", f"must be 1 to {MAX_NAME} printable characters")
    try:
        return clean, validation.json_object(filter_)
    except ValueError as exc:
        raise _bad("filter", str(exc)) from None


async def list_(*, org_id: int, user_id: int) -> list[dict[str, Any]]:
    """The user's views in this organization, by name."""
    return await fetch(
        f"SELECT {COLUMNS} FROM saved_view WHERE organization_id = $1 AND user_id = $2"
        " ORDER BY lower(name), id", [org_id, user_id],
    )


async def save(
    *, org_id: int, user_id: int, name: str, filter_: dict[str, Any], order_by: str
) -> dict[str, Any]:
    """Create the view, or replace the user's view of the same name."""
    row = await fetch_one(
        "INSERT INTO saved_view (organization_id, user_id, name, filter, order_by)"
        " SELECT $1, $2, $3, $4, $5"
        " WHERE (SELECT count(*) FROM saved_view WHERE organization_id = $1 AND user_id = $2"
        "        AND name <> $3) < $6"
        " ON CONFLICT (organization_id, user_id, name)"
        " DO UPDATE SET filter = EXCLUDED.filter, order_by = EXCLUDED.order_by, updated_at = now()"
        f" RETURNING {COLUMNS}", [org_id, user_id, name, filter_, order_by, MAX_VIEWS],
    )
    if row is None:
        raise _bad("name", f"a user keeps at most {MAX_VIEWS} views: delete one first")
    return row


async def delete(*, org_id: int, user_id: int, view_id: int) -> dict[str, Any] | None:
    """Delete one of the user's views; None when it is not theirs (or unknown)."""
    return await fetch_one(
        "DELETE FROM saved_view WHERE id = $1 AND organization_id = $2 AND user_id = $3"
        f" RETURNING {COLUMNS}", [view_id, org_id, user_id],
    )
