"""Customer custom fields as model features, as of a cutoff, from the history of their values.

Each value a customer had is an event (``customer_change`` keeps them with the day they were
set), so a feature as of a cutoff uses the value the customer had then, never a later one.
Numbers and money enter as they are, booleans as 1/0, dates as their age in days (negative:
still to come), a single select as one 0/1 column per top option; a customer without a value
has NaN (gradient boosting learns what "not filled in" means). Reasons name the field by its
label: ``Plan is "monthly"``, ``Renewal date in 40 days``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

PREFIX = "field:"
NUMERIC, BOOLEAN, DATE, SELECT = ("NUMBER", "MONEY"), "BOOLEAN", "DATE", "SINGLE_SELECT"
TYPES = (*NUMERIC, BOOLEAN, DATE, SELECT)  # the field types that become features
MAX_OPTIONS = 8
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class FieldSpec:
    """A custom field that feeds the models; ``options`` are the select's one-hot columns."""

    key: str
    label: str
    field_type: str
    options: tuple[str, ...] = ()
    currency: str | None = None


@dataclass(frozen=True)
class FieldValues:
    """Every value set on a field (``field`` indexes ``specs``) with the day it was set;
    ``customer`` indexes ``History.customer_ids``; ``value`` is the JSON value as text."""

    specs: tuple[FieldSpec, ...]
    customer: Ints
    day: Floats
    field: Ints
    value: npt.NDArray[np.object_]


def _latest(values: FieldValues, f: int, cutoff: float, size: int) -> npt.NDArray[np.object_]:
    """Each customer's value of field ``f`` as of ``cutoff`` (None: none then)."""
    mask = (values.field == f) & (values.day < cutoff)
    order = np.argsort(values.day[mask], kind="stable")
    current = np.full(size, None, dtype=object)
    current[values.customer[mask][order]] = values.value[mask][order]  # the latest stays
    return current


def _number(text: object) -> float:
    try:
        return float(str(text))
    except ValueError:
        return float("nan")


def _day(text: object) -> float:
    try:
        return float((date.fromisoformat(str(text)) - EPOCH).days)
    except ValueError:
        return float("nan")


def _parsed(texts: npt.NDArray[np.object_], parse: Callable[[object], float]) -> Floats:
    out = np.full(len(texts), np.nan)
    present = np.flatnonzero(texts != None)  # noqa: E711 (elementwise)
    if len(present):
        out[present] = np.fromiter((parse(t) for t in texts[present]), np.float64, len(present))
    return out


def names(specs: tuple[FieldSpec, ...]) -> tuple[str, ...]:
    """The feature columns the fields give, in order."""
    out: list[str] = []
    for spec in specs:
        if spec.field_type == SELECT:
            out += [f"{PREFIX}{spec.key}={option}" for option in spec.options]
        else:
            out.append(f"{PREFIX}{spec.key}")
    return tuple(out)


def columns_at(values: FieldValues | None, cutoff: float, rows: Ints, size: int
               ) -> dict[str, Floats]:
    """The fields' feature columns for ``rows`` as of ``cutoff`` (none without fields)."""
    if values is None:
        return {}
    out: dict[str, Floats] = {}
    for f, spec in enumerate(values.specs):
        texts = _latest(values, f, cutoff, size)[rows]
        name = f"{PREFIX}{spec.key}"
        if spec.field_type == SELECT:
            for option in spec.options:
                out[f"{name}={option}"] = (texts == option).astype(np.float64)
        elif spec.field_type == BOOLEAN:
            out[name] = np.where(texts == "true", 1.0, np.where(texts == "false", 0.0, np.nan))
        elif spec.field_type == DATE:
            out[name] = cutoff - _parsed(texts, _day)
        else:
            out[name] = _parsed(texts, _number)
    return out


def describe(specs: tuple[FieldSpec, ...], feature: str, value: float) -> str | None:
    """A field feature's value in words, by the field's label (None: not a field feature)."""
    if not feature.startswith(PREFIX):
        return None
    key, _, option = feature[len(PREFIX):].partition("=")
    spec = next((s for s in specs if s.key == key), None)
    label = spec.label if spec else key.replace("_", " ")
    if option:
        return f'{label} is {"" if value >= 0.5 else "not "}"{option}"'
    if np.isnan(value):
        return f"{label} not filled in"
    kind = spec.field_type if spec else ""
    if kind == BOOLEAN:
        return f"{label}: {'yes' if value >= 0.5 else 'no'}"
    if kind == DATE:
        days = round(value)
        return f"{label} today" if days == 0 else f"{label} {days} days ago" if days > 0 \
            else f"{label} in {-days} days"
    amount = f"{value:,.2f}" if kind == "MONEY" else f"{value:,.0f}" if abs(value) >= 10 \
        else f"{value:,.2g}"
    money = f" {spec.currency}" if spec and kind == "MONEY" and spec.currency else ""
    return f"{label}: {amount}{money}"
