"""Masking of customers' contact data for API keys without the ``pii:read`` scope."""

from __future__ import annotations

import dataclasses
from typing import Any

from auth.scopes import Scope
from core.errors import AppError, ErrorCode

HIDDEN = "***"


def hides_pii(context: Any) -> bool:
    """Whether this request's viewer is a key that may not read personal data."""
    viewer = getattr(context, "viewer", None)
    return viewer is not None and viewer.is_key and not viewer.has_scope(Scope.PII_READ)


def mask_email(value: str | None) -> str | None:
    """``jane@example.com`` as ``j***@example.com`` (the domain says little about a person)."""
    if not value:
        return value
    local, at, domain = value.rpartition("@")
    if not at:
        return HIDDEN
    return f"{local[:1]}{HIDDEN}@{domain}"


def mask_phone(value: str | None) -> str | None:
    """``+4930123456`` as ``***56``: enough to tell numbers apart, not to call them."""
    if not value:
        return value
    return HIDDEN + value[-2:] if len(value) > 6 else HIDDEN


def mask_address(value: Any) -> Any:
    """An address with street, postal code and city hidden; region and country stay."""
    if value is None:
        return None
    hidden = {
        name: HIDDEN if getattr(value, name) else getattr(value, name)
        for name in ("street", "postal_code", "city")
    }
    return dataclasses.replace(value, **hidden)


MASKS = {
    ("Customer", "email"): mask_email,
    ("Customer", "phone"): mask_phone,
    ("Customer", "address"): mask_address,
}


def refuse_hidden_search(context: Any, db_filter: Any) -> None:
    """Search matches emails and phone numbers, so keys that may not read them may not search."""
    if hides_pii(context) and _searches(db_filter):
        raise AppError(
            ErrorCode.FORBIDDEN,
            "search matches emails and phone numbers: it needs the pii:read scope",
            ["filter", "search"],
        )


def _searches(value: Any) -> bool:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(
            (field.name == "search" and bool(getattr(value, field.name)))
            or _searches(getattr(value, field.name))
            for field in dataclasses.fields(value)
        )
    if isinstance(value, list | tuple):
        return any(_searches(item) for item in value)
    return False
