"""Budget stores: PostgreSQL (default), Redis (when CRM_TEST_REDIS_URL is set), one process."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from core.config import Settings
from services.rate_limit.redis_store import KEY_PREFIX, RedisStore
from services.rate_limit.stores import DatabaseStore, ProcessStore, open_store

REDIS_URL = os.environ.get("CRM_TEST_REDIS_URL") or None
needs_redis = pytest.mark.skipif(REDIS_URL is None, reason="set CRM_TEST_REDIS_URL to test Redis")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _principal() -> str:
    return f"user:test-{uuid.uuid4().hex}"


def test_the_settings_choose_the_store(settings: Settings) -> None:
    assert isinstance(open_store(settings), DatabaseStore)  # the default needs only PostgreSQL
    own = settings.model_copy(update={"rate_limit_shared": False})
    assert isinstance(open_store(own), ProcessStore)
    redis = settings.model_copy(update={"redis_url": "redis://127.0.0.1:6379/15"})
    assert isinstance(open_store(redis), RedisStore)


async def test_the_database_store_shares_one_window_between_instances() -> None:
    principal = _principal()
    a, b = DatabaseStore(), DatabaseStore()
    assert (await a.reserve(principal, 10, 60)).used == 10
    assert (await b.reserve(principal, 10, 60)).used == 20


async def test_the_process_store_keeps_windows_per_principal() -> None:
    clock = Clock()
    store = ProcessStore(max_keys=2, clock=clock)
    assert (await store.reserve("a", 3, 10)).used == 3
    second = await store.reserve("a", 3, 10)
    assert (second.used, second.reset_ms) == (6, 10_000)
    clock.now += 4
    assert (await store.reserve("a", 1, 10)).reset_ms == 6000
    clock.now += 6  # the window is over: a new one starts
    assert (await store.reserve("a", 2, 10)).used == 2
    for key in ("b", "c", "d"):
        await store.reserve(key, 1, 1)
    clock.now += 1
    await store.reserve("e", 1, 1)
    assert "b" not in store._windows  # finished windows are forgotten past max_keys


@pytest.fixture
async def redis_store() -> AsyncIterator[RedisStore]:
    assert REDIS_URL is not None
    store = RedisStore(REDIS_URL)
    yield store
    await store.aclose()


@needs_redis
async def test_redis_reservations_add_up_atomically(redis_store: RedisStore) -> None:
    principal = _principal()
    other = RedisStore(str(REDIS_URL))  # a second process's client
    try:
        results = await asyncio.gather(*(
            (redis_store if n % 2 else other).reserve(principal, 3, 60) for n in range(20)
        ))
    finally:
        await other.aclose()
    assert sorted(r.used for r in results) == list(range(3, 61, 3))
    assert sum(r.granted(40) for r in results) == 40
    assert all(0 < r.reset_ms <= 60_000 for r in results)


@needs_redis
async def test_redis_windows_expire_with_their_key(redis_store: RedisStore) -> None:
    principal = _principal()
    first = await redis_store.reserve(principal, 5, 60)
    assert (first.used, 59_000 <= first.reset_ms <= 60_000) == (5, True)
    client = Redis.from_url(str(REDIS_URL))
    try:
        ttl = await client.pttl(KEY_PREFIX + principal)
        assert 0 < ttl <= 60_000  # the key goes when the window ends
        assert (await redis_store.reserve(principal, 5, 3600)).reset_ms <= 60_000  # end is kept
        await client.delete(KEY_PREFIX + principal)  # as when the window ends
    finally:
        await client.aclose()
    again = await redis_store.reserve(principal, 2, 3600)
    assert again.used == 2
    assert again.reset_ms > 3_500_000
