"""Scalars whose parsing is stricter than Strawberry's defaults (same names and wire format)."""

from __future__ import annotations

import datetime as dt
from operator import methodcaller

import dateutil.parser
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition


def parse_datetime(value: object) -> dt.datetime:
    """An ISO 8601 moment whose UTC time has a year from 1 to 9999 (what the database driver and
    date arithmetic can represent; ``9999-12-31T23:59:59-14:00`` is in the year 10000)."""
    if not isinstance(value, str):
        raise StrawberryInputCoercionError(
            f'Value cannot represent a DateTime: "{value}". Expected a string.')
    try:
        moment = dateutil.parser.isoparse(value)
        if moment.tzinfo is not None:
            moment.astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise StrawberryInputCoercionError(
            f'Value cannot represent a DateTime: "{value}". {exc}') from None
    return moment


DateTime = ScalarDefinition(
    name="DateTime",
    description="Date with time (isoformat)",
    specified_by_url=None,
    serialize=methodcaller("isoformat"),
    parse_value=parse_datetime,
    parse_literal=None,
    origin=dt.datetime,
)
# what build_schema passes as ``scalar_overrides``
OVERRIDES: dict[object, ScalarDefinition] = {dt.datetime: DateTime}
