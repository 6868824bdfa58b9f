"""What the background workers (email outbox, webhook delivery) share: wake-ups and lifetimes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol

import asyncpg

from core.database import connection_params

log = logging.getLogger("crm.background")


class Stoppable(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


@asynccontextmanager
async def listening(
    database_url: str | None, channel: str, wake: Callable[[], None], ready: asyncio.Event,
    application_name: str = "crm-worker",
) -> AsyncIterator[None]:
    """Call ``wake`` on every NOTIFY on ``channel`` (a connection of its own, not pooled,
    named ``application_name`` in pg_stat_activity: it shows the worker is alive).

    Without a database URL nothing listens: the worker's polling alone finds new work.
    """
    if database_url is None:
        yield
        return
    conn = await asyncpg.connect(
        **connection_params(database_url),
        server_settings={"application_name": application_name},
    )
    try:
        await conn.add_listener(channel, lambda *_: wake())
        ready.set()
        yield
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), timeout=5)


@asynccontextmanager
async def running(worker: Stoppable, name: str, stop_timeout: float) -> AsyncIterator[None]:
    """Run ``worker`` as a task for the duration of the block; ask it to stop on the way out."""
    task = asyncio.create_task(worker.run(), name=name)
    try:
        yield
    finally:
        worker.stop()
        try:
            await asyncio.wait_for(task, timeout=stop_timeout)
        except TimeoutError:
            log.warning("%s did not stop in time; its leases will expire", name)
