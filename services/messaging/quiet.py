"""Quiet hours: no message reaches a customer's phone at night in the customer's time zone.

The zone is the one of the customer's phone number when the number tells a single zone
(``phonenumbers``' geographic data: +49... is Europe/Berlin, US numbers name a state's zone),
else the provider's configured zone. A message queued inside quiet hours waits until they end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_zones


def zone_of(phone: str | None, fallback: str) -> ZoneInfo:
    """The customer's time zone by phone number, or ``fallback``."""
    if phone:
        try:
            zones = phone_zones.time_zones_for_number(phonenumbers.parse(phone))
        except phonenumbers.NumberParseException:
            zones = ()
        if len(zones) == 1 and zones[0] != phone_zones.UNKNOWN_TIMEZONE:
            try:
                return ZoneInfo(zones[0])
            except ZoneInfoNotFoundError:
                pass
    return ZoneInfo(fallback)


def is_quiet(hour: int, start: int, end: int) -> bool:
    """Whether local ``hour`` is in quiet hours from ``start`` to ``end`` (may wrap midnight)."""
    if start == end:
        return False
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def held_until(
    now: datetime, zone: ZoneInfo, start: int | None, end: int | None
) -> datetime | None:
    """When quiet hours end if ``now`` is inside them (UTC), else None."""
    if start is None or end is None:
        return None
    local = now.astimezone(zone)
    if not is_quiet(local.hour, start, end):
        return None
    until = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if until <= local:
        until = (local + timedelta(days=1)).replace(hour=end, minute=0, second=0, microsecond=0)
    return until.astimezone(UTC)
