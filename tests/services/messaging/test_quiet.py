"""Quiet hours in the customer's time zone (by phone number, else the provider's)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.messaging.quiet import held_until, is_quiet, zone_of


def test_the_zone_comes_from_the_number_when_it_names_one() -> None:
    assert zone_of("+4930123456", "UTC").key == "Europe/Berlin"
    assert zone_of("+61412345678", "Europe/London").key == "Europe/London"  # several zones
    assert zone_of(None, "Asia/Tokyo").key == "Asia/Tokyo"


def test_quiet_hours_may_wrap_midnight() -> None:
    assert [h for h in range(24) if is_quiet(h, 21, 8)] == [0, 1, 2, 3, 4, 5, 6, 7, 21, 22, 23]
    assert [h for h in range(24) if is_quiet(h, 1, 3)] == [1, 2]
    assert not any(is_quiet(h, 5, 5) for h in range(24))


def test_a_message_at_night_waits_for_the_morning_in_the_customers_zone() -> None:
    berlin = zone_of("+4930123456", "UTC")
    night = datetime(2026, 1, 10, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    assert held_until(night, berlin, 21, 8) == datetime(2026, 1, 11, 7, 0, tzinfo=UTC)
    early = datetime(2026, 1, 10, 5, 0, tzinfo=UTC)  # 06:00 in Berlin
    assert held_until(early, berlin, 21, 8) == datetime(2026, 1, 10, 7, 0, tzinfo=UTC)
    day = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert held_until(day, berlin, 21, 8) is None
    assert held_until(night, berlin, None, None) is None
