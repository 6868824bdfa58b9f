"""Input cleaning shared by every domain: normalise a value or record a FieldError."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import orjson
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from core.errors import ErrorCode, FieldError, InputError
from db import contact_shortcuts

T = TypeVar("T")

COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_JSON_BYTES = 16_384
MAX_TAGS = 50
MAX_TAG_LENGTH = 50
MAX_AMOUNT = Decimal("1e14")


class Cleaner:
    """Collects the errors of one input; ``raise_if_any`` ends validation with all of them."""

    def __init__(self, prefix: tuple[str, ...] = ("input",)) -> None:
        self.prefix = prefix
        self.errors: list[FieldError] = []

    def fail(self, field: str, message: str, code: ErrorCode = ErrorCode.BAD_USER_INPUT) -> None:
        self.errors.append(FieldError(code, (*self.prefix, *field.split(".")), message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise InputError(self.errors)

    def apply(self, field: str, value: T, clean: Callable[[T], Any]) -> Any:
        """``clean(value)``, or None with an error recorded if it raises ValueError."""
        try:
            return clean(value)
        except ValueError as exc:
            self.fail(field, str(exc))
            return None

    def text(self, field: str, value: str | None, max_length: int, *, required: bool = False,
             multiline: bool = False) -> str | None:
        """Trimmed, NFC-normalised text without control characters; empty means None."""
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        cleaned = unicodedata.normalize("NFC", value if multiline else value.strip())
        if _CONTROL.search(cleaned) or (not multiline and ("\n" in cleaned or "\r" in cleaned)):
            self.fail(field, "contains control characters")
            return None
        if len(cleaned) > max_length:
            self.fail(field, f"must be at most {max_length} characters")
            return None
        if not cleaned.strip():
            if required:
                self.fail(field, "must not be blank")
            return None
        return cleaned


def email(value: str) -> str:
    """A syntactically valid address, with the domain lower-cased (the local part is kept)."""
    if len(value) > 254:
        raise ValueError("must be at most 254 characters")
    address = value.strip()
    plain = contact_shortcuts.email(address)
    if plain is not None:
        return plain
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid email address: {exc}") from None


def phone(value: str, region: str | None = None) -> str:
    """The number in E.164; without a leading + it is read as a number of ``region``."""
    if len(value) > 40:
        raise ValueError("must be at most 40 characters")
    try:
        number = contact_shortcuts.phone_number(value) or phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        hint = "" if region else " (start with + and the country code)"
        raise ValueError(f"is not a valid phone number{hint}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def country(value: str) -> str:
    """An ISO 3166-1 alpha-2 code, upper-cased."""
    code = value.strip().upper()
    if code not in COUNTRIES:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code such as DE or CN")
    return code


def currency(value: str) -> str:
    """An ISO 4217 code, upper-cased."""
    code = value.strip().upper()
    if not _CURRENCY.match(code):
        raise ValueError("must be a three-letter ISO 4217 currency code such as EUR")
    return code


def amount(value: Decimal | None) -> Decimal:
    """A non-negative amount with at most four decimal places."""
    if value is None:
        raise ValueError("is required")
    try:
        if not value.is_finite() or value < 0 or value >= MAX_AMOUNT:
            raise ValueError("must be a non-negative amount below 10^14")
        if value != value.quantize(Decimal("0.0001")):
            raise ValueError("must have at most four decimal places")
    except InvalidOperation:
        raise ValueError("is not a valid amount") from None
    return value


def tags(values: list[str]) -> list[str]:
    """Trimmed, de-duplicated tags (first spelling wins, compared case-insensitively)."""
    if len(values) > MAX_TAGS:
        raise ValueError(f"must have at most {MAX_TAGS} tags")
    seen: dict[str, str] = {}
    for raw in values:
        tag = unicodedata.normalize("NFC", raw.strip())
        if not tag or len(tag) > MAX_TAG_LENGTH or _CONTROL.search(tag):
            raise ValueError(f"each tag must be 1 to {MAX_TAG_LENGTH} printable characters")
        seen.setdefault(tag.casefold(), tag)
    return list(seen.values())


def json_object(value: Any) -> dict[str, Any]:
    """A JSON object of bounded size."""
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    try:
        encoded = orjson.dumps(value)
    except orjson.JSONEncodeError as exc:  # beyond 64-bit integers, 254 levels, or not Unicode
        raise ValueError(f"cannot be stored as JSON: {exc}") from None
    if len(encoded) > MAX_JSON_BYTES:
        raise ValueError(f"must be at most {MAX_JSON_BYTES} bytes of JSON")
    if b"\\u0000" in encoded:
        raise ValueError("must not contain NUL characters")  # jsonb cannot store them
    return value
