"""Training and serving custom predictions, inside a training run's worker.

Training reads a fixed sample of customers (``MAX_TRAIN_CUSTOMERS``); scoring reads, scores and
writes ``SCORE_BATCH`` customers at a time, so memory follows the batch, not the organization.
A definition whose new model did not beat the base rate keeps its earlier active version (a
changed definition has none: ``db.prediction_definition.update`` retired it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from tortoise.transactions import in_transaction

from db import customer_score as scores
from db import prediction_definition as definitions
from db import prediction_outcome as outcomes
from ml import registry, score_history
from ml.batches import WriteBehind, chunks, prefetched
from ml.features import existing_at, to_day
from ml.outcome import ACTIVATED, NOT_ENOUGH_DATA, Outcome
from ml.publish import new_models
from ml.score_history import ScoreHistory
from ml.score_model import ScoreModel, score
from ml.score_model import train as fit

SCORE_BATCH = 20_000
MAX_TRAIN_CUSTOMERS = 20_000
Progress = Callable[[float, str], None]


@dataclass
class Served:
    """A definition's model that scores customers now, and its registry version."""

    definition: dict[str, Any]
    model: ScoreModel
    version: int


async def _register(definition: dict[str, Any], outcome: Outcome, *, org_id: int,
                    run_id: int | None, as_of: datetime) -> int | None:
    """Record the outcome in the registry and on the definition; the version if registered."""
    async with in_transaction() as conn:
        version = None
        if outcome.status != NOT_ENOUGH_DATA:
            version = await scores.register(
                new_models({"SCORE": outcome})[0], org_id=org_id,
                definition_id=definition["id"], run_id=run_id, as_of=as_of,
                horizon_days=definition["horizon_days"], using=conn,
            )
        await definitions.record_training(definition_id=definition["id"],
                                          status=outcome.status, message=outcome.message,
                                          using=conn)
    return version


async def _active(definition: dict[str, Any]) -> Served | None:
    row = await scores.active_model(definition_id=definition["id"])
    if row is None:
        return None
    return Served(definition, registry.load(row["artifact"], row["checksum"]), row["version"])


async def served_models(*, org_id: int) -> list[Served]:
    """Every definition's active model."""
    found = [await _active(d) for d in await definitions.list_(org_id=org_id)]
    return [s for s in found if s is not None]


async def train(*, org_id: int, run_id: int | None, as_of: datetime, seed: int = 0
                ) -> tuple[list[Served], list[dict[str, Any]]]:
    """Train every definition on a sample of customers; the models to serve and the results."""
    defined = await definitions.list_(org_id=org_id)
    if not defined:
        return [], []
    ids = await score_history.customer_ids(org_id=org_id)
    sample = None
    if len(ids) > MAX_TRAIN_CUSTOMERS:
        sample = np.sort(np.random.default_rng(seed).choice(ids, MAX_TRAIN_CUSTOMERS,
                                                            replace=False)).tolist()
    history = await score_history.load(org_id=org_id, as_of=as_of, definitions=defined,
                                       customer_ids=sample)
    served, results = [], []
    for definition in defined:
        words = outcomes.words(definition["outcome"])
        outcome = await asyncio.to_thread(fit, history, definition, words, to_day(as_of), seed)
        version = await _register(definition, outcome, org_id=org_id, run_id=run_id,
                                  as_of=as_of)
        if outcome.status == ACTIVATED and version is not None:
            served.append(Served(definition, outcome.artifact, version))
        else:
            kept = await _active(definition)
            served.extend([kept] if kept else [])
        metrics = {k: v for k, v in outcome.metrics.items() if k != "importances"}
        results.append({"kind": "SCORE", "prediction": definition["name"],
                        "status": outcome.status, "message": outcome.message,
                        "metrics": metrics, "version": version if outcome.status == ACTIVATED
                        else None})
    return served, results


async def score_customers(
    served: Sequence[Served], *, org_id: int, as_of: datetime,
    customer_ids: Sequence[int] | None = None, progress: Progress | None = None,
) -> int:
    """Score (some) customers with every served model, a batch at a time; how many scored."""
    if not served:
        return 0
    ids = np.asarray(customer_ids, dtype=np.int64) if customer_ids is not None else \
        await score_history.customer_ids(org_id=org_id)
    day, started = to_day(as_of), datetime.now(UTC)

    def load(chunk: list[int]) -> Awaitable[ScoreHistory]:
        return score_history.load(org_id=org_id, as_of=as_of,
                                  definitions=[s.definition for s in served], customer_ids=chunk)

    done = seen = 0
    async with WriteBehind() as writer:
        async for chunk, history in prefetched(chunks(ids, SCORE_BATCH), load):
            seen += len(chunk)
            rows = existing_at(history.base, day)
            for s in served:
                p, reasons = await asyncio.to_thread(score, s.model, history, day, rows)
                await writer.put(scores.write(scores.ScoreBatch(
                    customer_ids=[int(i) for i in history.base.customer_ids[rows]],
                    probabilities=[round(float(v), 6) for v in np.clip(p, 0.0, 1.0)],
                    reasons=[[r.as_dict() for r in row] for row in reasons],
                ), org_id=org_id, definition_id=s.definition["id"], model_version=s.version,
                    scored_at=started))
            done += len(rows)
            if progress:
                progress(seen / len(ids), "scoring predictions")
    if customer_ids is None:  # a complete pass: customers it did not see are gone
        for s in served:
            await scores.drop_older(definition_id=s.definition["id"], scored_before=started)
    return done


async def train_and_score(*, org_id: int, run_id: int | None, as_of: datetime,
                          progress: Progress | None = None) -> list[dict[str, Any]]:
    """A training run's custom predictions: train, register, score everyone; its results."""
    served, results = await train(org_id=org_id, run_id=run_id, as_of=as_of)
    await score_customers(served, org_id=org_id, as_of=as_of, progress=progress)
    serving = {s.definition["id"] for s in served}
    for definition in await definitions.list_(org_id=org_id):
        if definition["id"] not in serving:
            await scores.drop_all(definition_id=definition["id"])
    return results
