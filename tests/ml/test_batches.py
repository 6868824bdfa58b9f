"""Reading the next batch while the current one is worked on (``ml.batches.prefetched``)."""

from __future__ import annotations

import asyncio

import pytest

from ml.batches import chunks, prefetched


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
