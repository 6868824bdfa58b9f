"""The CSV shape of customers, orders, products, companies and deals: header columns, cells to
fields and back."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal

from db.enums import CustomerKind, LifecycleStage, OrderStatus
from db.sales_enums import CompanySize, DealStatus

Kind = Literal["customers", "orders", "products", "companies", "deals", "rates"]
COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": (
        "external_ref", "name", "email", "phone", "company", "street", "city", "region",
        "postal_code", "country", "stage", "kind", "tags", "email_opt_out",
    ),
    "orders": (
        "external_ref", "customer_external_ref", "customer_email", "amount", "currency",
        "status", "placed_at",
    ),
    "products": ("sku", "name", "category", "price", "currency", "active"),
    "companies": ("domain", "name", "industry", "size", "street", "city", "region",
                  "postal_code", "country"),
    "deals": ("external_ref", "name", "amount", "currency", "pipeline_name", "stage_name",
              "probability", "expected_close_on", "status", "lost_reason", "company_domain",
              "company_name"),
    "rates": ("currency", "valid_on", "rate"),
}
# a file must be able to match its rows: on these columns, any one of them
KEY_COLUMNS = {"customers": ("external_ref", "email"), "orders": ("external_ref",),
               "products": ("sku",), "companies": ("domain", "name"),
               "deals": ("external_ref", "name"), "rates": ("currency",)}
_TAG_SEPARATOR = re.compile(r"[;|]")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


class CsvError(Exception):
    """A file (or organization) an import or export cannot work with at all."""


def check_header(kind: Kind, cells: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    """The column names of a header row; unknown, repeated or too few columns reject the file.

    ``extra``: columns this organization's files may have too (its custom fields)."""
    names = [cell.strip().lower() for cell in cells]
    allowed = (*COLUMNS[kind], *extra)
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise CsvError(
            f"unknown column {', '.join(map(repr, unknown))} in the header; "
            f"{kind} files may have: {', '.join(allowed)}"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise CsvError(f"column {', '.join(map(repr, repeated))} appears more than once")
    if not set(KEY_COLUMNS[kind]) & set(names):
        raise CsvError(f"{kind} files need a column to match rows on: "
                       f"{' or '.join(KEY_COLUMNS[kind])}")
    return names


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered not in _TRUE | _FALSE:
        raise ValueError("must be true or false")
    return lowered in _TRUE


def _choice(enum: type[StrEnum]) -> Callable[[str], StrEnum]:
    def parse(value: str) -> StrEnum:
        try:
            return enum(value.upper())
        except ValueError:
            raise ValueError(f"must be one of {', '.join(enum)}") from None

    return parse


def _amount(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError("is not a number") from None


def _timestamp(value: str) -> datetime:
    """An ISO 8601 date or time; one without an offset is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("is not an ISO 8601 timestamp such as 2024-05-01T12:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not an ISO 8601 date such as 2024-05-01") from None


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError("is not a whole number") from None


def _tags(value: str) -> list[str]:
    return [tag.strip() for tag in _TAG_SEPARATOR.split(value) if tag.strip()]


_PARSERS: dict[str, Callable[[str], Any]] = {
    "email_opt_out": _boolean, "stage": _choice(LifecycleStage), "kind": _choice(CustomerKind),
    "status": _choice(OrderStatus), "amount": _amount, "placed_at": _timestamp, "tags": _tags,
    "price": _amount, "active": _boolean,
}
# columns one kind reads differently (a deal's status is not an order's)
_KIND_PARSERS: dict[str, dict[str, Callable[[str], Any]]] = {
    "companies": {"size": _choice(CompanySize)},
    "deals": {"status": _choice(DealStatus), "probability": _integer,
              "expected_close_on": _date},
    "rates": {"valid_on": _date, "rate": _amount},
}


def parse_row(cells: dict[str, str], kind: Kind = "customers") -> dict[str, Any]:
    """Upsert fields of one row; an empty cell clears the field (tags: to none).

    Raises ValueError with a reason naming the column when a cell cannot be read.
    """
    row: dict[str, Any] = {}
    parsers = _PARSERS | _KIND_PARSERS.get(kind, {})
    for column, raw in cells.items():
        value = raw.strip()
        parse = parsers.get(column)
        if not value:
            row[column] = [] if column == "tags" else None
        elif parse is None:
            row[column] = raw
        else:
            try:
                row[column] = parse(value)
            except ValueError as exc:
                raise ValueError(f"{column}: {exc}") from None
    return row


def format_row(kind: Kind, row: dict[str, Any]) -> list[str]:
    """The cells of a stored row (a customer, or an order joined with its customer)."""
    return [_cell(column, row[column]) for column in COLUMNS[kind]]


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column == "tags":
        return ";".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)
