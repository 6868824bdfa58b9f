"""Memory that follows a batch, not the organization: the training sample, and scoring
everyone a batch of customers at a time (read, score, write, forget)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import numpy as np
from tortoise.backends.base.client import BaseDBAsyncClient

from db import prediction as predictions
from ml import history as histories
from ml.features import History

SCORE_BATCH = 20_000
T = TypeVar("T")


def training_sample(ids: np.ndarray[Any, Any], limit: int, seed: int = 0) -> list[int] | None:
    """At most ``limit`` of the customers (sorted ids, the same for the same input); None
    when there are no more than that (train on everyone)."""
    if len(ids) <= limit:
        return None
    chosen = np.random.default_rng(seed).choice(ids, limit, replace=False)
    return [int(i) for i in np.sort(chosen)]


async def cancelled(future: asyncio.Future[Any] | None) -> None:
    """Cancel ``future`` if it is still running and wait until it has stopped."""
    if future is not None and not future.done():
        future.cancel()
        await asyncio.gather(future, return_exceptions=True)


async def side_by_side(*work: Awaitable[Any]) -> None:
    """Run ``work`` (coroutines, or tasks already running) concurrently; the first failure
    cancels the others, waits for them to stop and is raised as itself (not as an exception
    group)."""

    async def awaited(one: Awaitable[Any]) -> Any:
        return await one  # cancelling this cancels a task it awaits

    try:
        async with asyncio.TaskGroup() as group:
            for one in work:
                group.create_task(awaited(one))
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None


def chunks(ids: Sequence[int] | np.ndarray[Any, Any], size: int) -> list[list[int]]:
    """``ids`` in consecutive chunks of at most ``size``."""
    return [[int(i) for i in ids[start:start + size]] for start in range(0, len(ids), size)]


async def prefetched(chunked: Sequence[list[int]], load: Callable[[list[int]], Awaitable[T]]
                     ) -> AsyncIterator[tuple[list[int], T]]:
    """Each chunk with what ``load`` read for it, the next chunk's read already running (on
    another pooled connection) while the caller works on this one: PostgreSQL reads while
    the worker computes."""
    ahead: asyncio.Task[T] | None = None
    try:
        for i, chunk in enumerate(chunked):
            current = ahead if ahead is not None else asyncio.ensure_future(load(chunk))
            ahead = asyncio.ensure_future(load(chunked[i + 1])) if i + 1 < len(chunked) \
                else None
            yield chunk, await current
    finally:
        await cancelled(ahead)


class WriteBehind:
    """Writes of consecutive batches, one in flight at a time and in order, while the caller
    computes the next batch: PostgreSQL writes while the worker computes.

    ``async with WriteBehind() as writer: ... await writer.put(write(batch))``; leaving the
    block waits for the last write, or cancels it when the block failed.
    """

    def __init__(self) -> None:
        self._pending: asyncio.Future[None] | None = None

    async def put(self, write: Awaitable[None]) -> None:
        """Wait for the previous write, then start this one."""
        try:
            await self.flush()
        except BaseException:
            if inspect.iscoroutine(write):
                write.close()  # never started
            raise
        self._pending = asyncio.ensure_future(write)

    async def flush(self) -> None:
        """Wait for the write in flight (its error, if it failed)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending

    async def __aenter__(self) -> WriteBehind:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        if kind is None:
            await self.flush()
        else:
            pending, self._pending = self._pending, None
            await cancelled(pending)


async def score_and_write(
    models: Any, ids: Sequence[int] | np.ndarray[Any, Any], *, org_id: int, as_of: datetime,
    horizon_days: int, model_version: str, using: BaseDBAsyncClient,
    batch: int = SCORE_BATCH,
) -> int:
    """Score ``ids`` with ``models`` (``ml.scoring.ActiveModels``) and replace the
    organization's predictions with theirs, in the caller's transaction; how many scored."""
    from ml import publish  # scikit-learn loads in workers only

    def load(chunk: list[int]) -> Awaitable[History]:
        return histories.load_history(org_id=org_id, as_of=as_of, customer_ids=chunk)

    done, first = 0, True
    async with WriteBehind() as writer:
        async for _, history in prefetched(chunks(ids, batch) or [[]], load):
            rows = await asyncio.to_thread(publish.score_rows, history, as_of, models)
            await writer.put(predictions.write_predictions(
                rows, org_id=org_id, model_version=model_version, as_of=as_of,
                horizon_days=horizon_days, replace_all=first, using=using,
            ))
            first = False
            done += len(rows.customer_ids)
    return done
