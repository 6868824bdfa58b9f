"""Memory that follows a batch, not the organization: the training sample, and scoring
everyone a batch of customers at a time (read, score, write, forget)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from tortoise.backends.base.client import BaseDBAsyncClient

from db import prediction as predictions
from ml import history as histories

SCORE_BATCH = 20_000


def training_sample(ids: np.ndarray[Any, Any], limit: int, seed: int = 0) -> list[int] | None:
    """At most ``limit`` of the customers (sorted ids, the same for the same input); None
    when there are no more than that (train on everyone)."""
    if len(ids) <= limit:
        return None
    chosen = np.random.default_rng(seed).choice(ids, limit, replace=False)
    return [int(i) for i in np.sort(chosen)]


async def score_and_write(
    models: Any, ids: Sequence[int] | np.ndarray[Any, Any], *, org_id: int, as_of: datetime,
    horizon_days: int, model_version: str, using: BaseDBAsyncClient,
    batch: int = SCORE_BATCH,
) -> int:
    """Score ``ids`` with ``models`` (``ml.scoring.ActiveModels``) and replace the
    organization's predictions with theirs, in the caller's transaction; how many scored."""
    from ml import publish  # scikit-learn loads in workers only

    done = 0
    for start in range(0, max(len(ids), 1), batch):
        chunk = [int(i) for i in ids[start:start + batch]]
        history = await histories.load_history(org_id=org_id, as_of=as_of, customer_ids=chunk)
        rows = await asyncio.to_thread(publish.score_rows, history, as_of, models)
        await predictions.write_predictions(
            rows, org_id=org_id, model_version=model_version, as_of=as_of,
            horizon_days=horizon_days, replace_all=start == 0, using=using,
        )
        done += len(rows.customer_ids)
    return done
