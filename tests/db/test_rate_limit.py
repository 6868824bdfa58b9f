"""Rate limit budgets in PostgreSQL: one atomic statement per reservation, windows per principal."""

from __future__ import annotations

import asyncio
import uuid

from db import rate_limit
from db.rate_limit import Reservation
from db.sql import fetch


def _principal() -> str:
    return f"user:test-{uuid.uuid4().hex}"


async def _end_window(principal: str) -> None:
    await fetch("UPDATE rate_limit SET window_ends_at = now() - interval '2 minutes'"
                " WHERE principal = $1", [principal])


def test_granted_is_what_fitted_under_the_limit() -> None:
    assert Reservation(asked=10, used=10, reset_ms=1).granted(100) == 10
    assert Reservation(asked=10, used=105, reset_ms=1).granted(100) == 5
    assert Reservation(asked=10, used=130, reset_ms=1).granted(100) == 0


async def test_reservations_add_up_in_one_window() -> None:
    principal = _principal()
    first = await rate_limit.reserve(principal, 5, 60)
    assert first.used == 5
    assert 59_000 <= first.reset_ms <= 60_000
    second = await rate_limit.reserve(principal, 7, 3600)  # a running window keeps its end
    assert second.used == 12
    assert second.reset_ms <= first.reset_ms
    assert (await rate_limit.reserve(_principal(), 1, 60)).used == 1  # principals are apart


async def test_concurrent_reservations_never_lose_points() -> None:
    principal = _principal()
    results = await asyncio.gather(*(rate_limit.reserve(principal, 3, 60) for _ in range(20)))
    assert sorted(r.used for r in results) == list(range(3, 61, 3))
    # so exactly the limit is granted, whatever the order
    assert sum(r.granted(40) for r in results) == 40


async def test_a_finished_window_starts_again_and_is_swept() -> None:
    principal = _principal()
    await rate_limit.reserve(principal, 50, 60)
    await _end_window(principal)
    again = await rate_limit.reserve(principal, 4, 60)
    assert again.used == 4
    assert again.reset_ms > 59_000
    await _end_window(principal)
    assert await rate_limit.delete_finished(older_than_seconds=60) >= 1
    assert await fetch("SELECT 1 FROM rate_limit WHERE principal = $1", [principal]) == []


async def test_the_table_is_unlogged() -> None:
    [row] = await fetch(
        "SELECT relpersistence::text AS kind FROM pg_class WHERE relname = 'rate_limit'"
    )
    assert row["kind"] == "u"
