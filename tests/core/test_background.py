"""Background workers: NOTIFY wake-ups on a connection of their own, and bounded shutdowns."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core import background
from db.sql import fetch


class _Worker:
    def __init__(self, *, ignores_stop: bool = False) -> None:
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()
        self.ignores_stop = ignores_stop

    async def run(self) -> None:
        self.started.set()
        await (asyncio.Event() if self.ignores_stop else self.stopped).wait()

    def stop(self) -> None:
        self.stopped.set()


async def test_running_stops_the_worker_when_the_block_ends() -> None:
    worker = _Worker()
    async with background.running(worker, "test-worker", stop_timeout=5):
        await asyncio.wait_for(worker.started.wait(), 5)
    assert worker.stopped.is_set()


async def test_a_worker_that_does_not_stop_is_abandoned_with_a_warning(caplog) -> None:
    worker = _Worker(ignores_stop=True)
    with caplog.at_level(logging.WARNING, logger="crm.background"):
        async with background.running(worker, "stuck-worker", stop_timeout=0.05):
            await asyncio.wait_for(worker.started.wait(), 5)
    assert "stuck-worker did not stop in time" in caplog.text


@pytest.mark.usefixtures("db")
async def test_listening_wakes_on_notify(database_url: str) -> None:
    woken, ready = asyncio.Event(), asyncio.Event()
    async with background.listening(database_url, "crm_test_wake", woken.set, ready):
        assert ready.is_set()
        await fetch("SELECT pg_notify('crm_test_wake', '')")
        await asyncio.wait_for(woken.wait(), 5)


async def test_without_a_database_nothing_listens() -> None:
    woken, ready = asyncio.Event(), asyncio.Event()
    async with background.listening(None, "crm_test_wake", woken.set, ready):
        assert not ready.is_set()
