"""Batches written while the next is computed: order kept, one write in flight, and a failure
on either side stops the other."""

from __future__ import annotations

import asyncio

import pytest

from ml.batches import overlapped


async def test_the_next_batch_is_produced_while_the_last_is_consumed_in_order() -> None:
    events: list[str] = []
    writing = asyncio.Event()

    async def produce(n: int) -> int:
        events.append(f"produce {n}")
        if n == 1:
            await asyncio.wait_for(writing.wait(), 5)  # batch 0's write is under way meanwhile
        return n

    async def consume(n: int) -> None:
        events.append(f"consume {n} start")
        writing.set()
        await asyncio.sleep(0.01)
        events.append(f"consume {n} end")

    await overlapped(range(3), produce, consume)
    assert events == ["produce 0", "produce 1", "consume 0 start", "consume 0 end",
                      "produce 2", "consume 1 start", "consume 1 end",
                      "consume 2 start", "consume 2 end"]


async def test_a_failed_batch_stops_the_write_in_flight_and_raises() -> None:
    stopped = asyncio.Event()

    async def produce(n: int) -> int:
        if n == 1:
            await asyncio.sleep(0.01)
            raise ValueError("bad batch")
        return n

    async def consume(n: int) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            stopped.set()
            raise

    with pytest.raises(ValueError, match="bad batch"):
        await overlapped(range(3), produce, consume)
    assert stopped.is_set()


async def test_a_failed_write_raises_before_more_batches_are_written() -> None:
    written: list[int] = []

    async def produce(n: int) -> int:
        return n

    async def consume(n: int) -> None:
        if n == 1:
            raise RuntimeError("write failed")
        written.append(n)

    with pytest.raises(RuntimeError, match="write failed"):
        await overlapped(range(5), produce, consume)
    assert written == [0]
