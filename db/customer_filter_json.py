"""Customer filter trees as JSON and back, e.g. to store the audience of a campaign losslessly."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from db.customer_filter import (
    CustomerFilter,
    InteractionFacts,
    OrderFacts,
    OwnerFacts,
    Range,
    ScoreCondition,
)
from db.enums import Channel, Direction, LifecycleStage, OrderStatus, Role

_TIMES = {
    "created_after", "created_before", "since", "until", "last_order_before",
    "last_order_after", "last_before", "last_after",
}
_DECIMALS = {"has_order_over"}
_ENUM_LISTS = {"stages": LifecycleStage, "statuses": OrderStatus, "channels": Channel}
_ENUMS = {"direction": Direction, "role": Role}
_NESTED: dict[str, type] = {
    "orders": OrderFacts, "interactions": InteractionFacts, "owner": OwnerFacts,
}
_FILTER_LISTS = {"all_of", "any_of"}


def to_json(f: Any) -> dict[str, Any]:
    """A filter (or one of its parts) as JSON-safe values; unset fields are left out."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(f):
        value = getattr(f, field.name)
        if value is None or value == () or value == []:
            continue
        out[field.name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def from_json(data: dict[str, Any]) -> CustomerFilter:
    """The filter ``to_json`` made."""
    return CustomerFilter(**_fields(data))


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in _TIMES:
            out[key] = datetime.fromisoformat(value)
        elif key in _DECIMALS:
            out[key] = Decimal(value)
        elif key in _ENUM_LISTS:
            out[key] = tuple(_ENUM_LISTS[key](v) for v in value)
        elif key in _ENUMS:
            out[key] = _ENUMS[key](value)
        elif key in _NESTED:
            out[key] = _NESTED[key](**_fields(value))
        elif key in ("total_spent", "count"):
            out[key] = Range(**{k: Decimal(v) if key == "total_spent" else v
                                for k, v in value.items()})
        elif key in _FILTER_LISTS:
            out[key] = tuple(from_json(v) for v in value)
        elif key == "not_":
            out[key] = from_json(value)
        elif key == "scores":
            out[key] = tuple(ScoreCondition(
                name=item["name"], min=item.get("min"), max=item.get("max"),
                bands=tuple(item.get("bands", ())),
            ) for item in value)
        elif isinstance(value, list):
            out[key] = tuple(value)
        else:
            out[key] = value
    return out
