"""Custom field columns of customer, company and deal CSV files: ``custom.<key>`` per defined
field.

Cells are plain text: numbers and amounts as written, dates as ISO 8601, booleans as
true/false, multi-select options separated by ``;``. On import an empty cell removes the
field's value and columns a file leaves out keep theirs; values are then checked against
the definitions like any other write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from db.custom_field import FieldType

PREFIX = "custom."
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
Definitions = Mapping[str, Mapping[str, Any]]


def columns(definitions: Definitions) -> list[str]:
    """The header columns of the defined fields, in their order."""
    return [f"{PREFIX}{key}" for key in definitions]


def cells(definitions: Definitions, values: Mapping[str, Any] | None) -> list[str]:
    """A stored record's cells for the defined fields."""
    return [_cell((values or {}).get(key)) for key in definitions]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def parse(definitions: Definitions, given: Mapping[str, str]) -> dict[str, Any]:
    """Values by key from ``custom.<key>`` cells (None: clear); ValueError names the column."""
    out: dict[str, Any] = {}
    for column, raw in given.items():
        key = column.removeprefix(PREFIX)
        text = raw.strip()
        try:
            out[key] = _value(FieldType(definitions[key]["field_type"]), text) if text else None
        except ValueError as exc:
            raise ValueError(f"{column}: {exc}") from None
    return out


def _value(kind: FieldType, text: str) -> Any:
    if kind is FieldType.NUMBER:
        try:
            number = float(text)
        except ValueError:
            raise ValueError("is not a number") from None
        return int(number) if number.is_integer() and "." not in text else number
    if kind is FieldType.BOOLEAN:
        if text.lower() not in _TRUE | _FALSE:
            raise ValueError("must be true or false")
        return text.lower() in _TRUE
    if kind is FieldType.MULTI_SELECT:
        return [part.strip() for part in text.split(";") if part.strip()]
    return text
