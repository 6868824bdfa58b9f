"""Where budgets are kept: PostgreSQL (the default), Redis (``REDIS_URL``), or one process.

A store does one thing: add points to a principal's current window and say how many the window
holds now, atomically, so that processes on any machine share one budget.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Protocol

from core.config import Settings
from db import rate_limit
from db.rate_limit import Reservation
from services.rate_limit.redis_store import RedisStore

log = logging.getLogger("crm.rate_limit")
SWEEP_EVERY_SECONDS = 300.0  # how often a process forgets finished windows in the database


class BudgetStore(Protocol):
    """Adds points to a principal's window (starting one when none is running)."""

    async def reserve(self, principal: str, points: int, window_seconds: int) -> Reservation: ...

    async def aclose(self) -> None: ...


class DatabaseStore:
    """Budgets in PostgreSQL's ``rate_limit`` table; finished windows are swept now and then."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._swept = clock()
        self._sweep: asyncio.Task[None] | None = None

    async def reserve(self, principal: str, points: int, window_seconds: int) -> Reservation:
        reservation = await rate_limit.reserve(principal, points, window_seconds)
        if self.clock() - self._swept > SWEEP_EVERY_SECONDS and self._sweep is None:
            self._swept = self.clock()
            self._sweep = asyncio.create_task(self._forget_finished(), name="rate-limit-sweep")
        return reservation

    async def _forget_finished(self) -> None:
        try:
            await rate_limit.delete_finished()
        except Exception:
            log.warning("could not sweep finished rate limit windows", exc_info=True)
        finally:
            self._sweep = None

    async def aclose(self) -> None:
        if self._sweep is not None:
            await self._sweep


class ProcessStore:
    """Budgets in this process alone: every process has its own (one process, or tests)."""

    def __init__(self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self.max_keys = max_keys
        self.clock = clock
        self._windows: dict[str, tuple[int, float]] = {}

    async def reserve(self, principal: str, points: int, window_seconds: int) -> Reservation:
        now = self.clock()
        used, ends = self._windows.get(principal, (0, 0.0))
        if ends <= now:
            used, ends = 0, now + window_seconds
        used += points
        self._windows[principal] = (used, ends)
        if len(self._windows) > self.max_keys:
            self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
        return Reservation(asked=points, used=used, reset_ms=math.ceil((ends - now) * 1000))

    async def aclose(self) -> None:
        return None


def open_store(settings: Settings) -> BudgetStore:
    """The store the settings ask for: Redis when ``REDIS_URL`` is set, else PostgreSQL."""
    if not settings.rate_limit_shared:
        return ProcessStore(settings.rate_limit_max_buckets)
    if settings.redis_url is not None:
        return RedisStore(settings.redis_url)
    return DatabaseStore()
