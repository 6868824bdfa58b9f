"""Per-operation loaders: batched, cached per key, and robust to cancelled waiters."""

from __future__ import annotations

import asyncio

from auth.loaders import SharedLoader


async def test_a_cancelled_waiter_does_not_cancel_the_others() -> None:
    calls: list[list[int]] = []
    release = asyncio.Event()

    async def fetch(keys: list[int]) -> list[str]:
        calls.append(keys)
        await release.wait()
        return [f"row {k}" for k in keys]

    loader: SharedLoader[int, str] = SharedLoader(load_fn=fetch)
    doomed = asyncio.ensure_future(loader.load(1))
    survivor = asyncio.ensure_future(loader.load(1))
    other = asyncio.ensure_future(loader.load(2))
    await asyncio.sleep(0)  # the batch is dispatched
    doomed.cancel()  # as graphql-core cancels the siblings of a failed field
    release.set()
    assert await survivor == "row 1"
    assert await other == "row 2"
    assert calls == [[1, 2]]  # one batch for both keys
    assert await loader.load(1) == "row 1"  # and the result stays cached
