"""Reading the next batch while the current one is worked on (``ml.batches.prefetched``)."""

from __future__ import annotations

import asyncio

import pytest

from ml.batches import WriteBehind, chunks, prefetched, side_by_side


def test_chunks_cover_every_id_once_in_order() -> None:
    assert chunks([5, 6, 7, 8, 9], 2) == [[5, 6], [7, 8], [9]]
    assert chunks([], 3) == []


async def test_each_chunk_comes_with_its_own_load_and_the_next_read_runs_meanwhile() -> None:
    started: list[int] = []
    release = {i: asyncio.Event() for i in range(3)}

    async def load(chunk: list[int]) -> str:
        started.append(chunk[0])
        await release[chunk[0]].wait()
        return f"read {chunk[0]}"

    release[0].set()
    got = []
    async for chunk, data in prefetched([[0], [1], [2]], load):
        await asyncio.sleep(0)  # the worker's turn: the next read has already begun
        assert started == list(range(min(chunk[0] + 2, 3)))
        got.append((chunk, data))
        for later in release.values():
            later.set()
    assert got == [([0], "read 0"), ([1], "read 1"), ([2], "read 2")]


async def test_leaving_early_cancels_the_read_ahead() -> None:
    cancelled = asyncio.Event()

    async def load(chunk: list[int]) -> int:
        if chunk[0] == 0:
            return 0
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return chunk[0]

    async def score_until_it_fails() -> None:
        async for _ in batches:
            raise RuntimeError("scoring failed")

    batches = prefetched([[0], [1]], load)
    with pytest.raises(RuntimeError):
        await score_until_it_fails()
    await batches.aclose()
    assert cancelled.is_set()


async def test_writes_run_one_at_a_time_in_order_while_the_next_batch_is_computed() -> None:
    log: list[str] = []
    gates = [asyncio.Event() for _ in range(3)]

    async def write(batch: int) -> None:
        log.append(f"write {batch} starts")
        await gates[batch].wait()
        log.append(f"write {batch} ends")

    async with WriteBehind() as writer:
        for batch in range(3):
            log.append(f"compute {batch}")  # the previous write is still running here
            if batch:
                gates[batch - 1].set()
            await writer.put(write(batch))
            await asyncio.sleep(0)
        gates[2].set()
    assert log == ["compute 0", "write 0 starts", "compute 1", "write 0 ends",
                   "write 1 starts", "compute 2", "write 1 ends", "write 2 starts",
                   "write 2 ends"]


async def test_a_failed_write_surfaces_and_a_failed_batch_cancels_the_write_in_flight() -> None:
    async def broken() -> None:
        raise ValueError("constraint violated")

    with pytest.raises(ValueError, match="constraint violated"):
        async with WriteBehind() as writer:
            await writer.put(broken())
    cancelled = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def compute_and_fail(writer: WriteBehind) -> None:
        await writer.put(slow())
        await asyncio.sleep(0)
        raise RuntimeError("scoring failed")

    with pytest.raises(RuntimeError):
        async with WriteBehind() as writer:
            await compute_and_fail(writer)
    assert cancelled.is_set()


async def test_side_by_side_work_fails_as_itself_and_stops_the_other() -> None:
    stopped = asyncio.Event()
    finished: list[str] = []

    async def long() -> None:
        try:
            await asyncio.sleep(10)
            finished.append("long")
        except asyncio.CancelledError:
            stopped.set()
            raise

    async def failing() -> None:
        await asyncio.sleep(0.01)
        raise LookupError("no such product")

    with pytest.raises(LookupError, match="no such product"):
        await side_by_side(long(), failing())
    assert stopped.is_set()
    assert finished == []

    async def quick(name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        finished.append(name)

    await side_by_side(quick("a", 0.02), quick("b", 0.01))
    assert finished == ["b", "a"]  # concurrently: the shorter one finished first
