"""Training the recommender in a training run: validate on a time split (on a sample of
customers in large organizations), then write every customer's list, a batch of customers at a
time, with the popular lists per segment and each product's neighbours for serving."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from tortoise.backends.base.client import BaseDBAsyncClient

from db import recommendation as recommendations
from db.recommendation import NEIGHBOURS, PER_CUSTOMER, PER_SEGMENT, Lists, Picks
from ml import recommend
from ml.batches import WriteBehind, chunks, prefetched
from ml.features import to_day
from ml.history import load_order_lines, load_segments
from ml.order_lines import Lines
from ml.training import ACTIVATED, NOT_ACTIVATED, NOT_ENOUGH_DATA, Outcome

KIND = "RECOMMENDATIONS"
MIN_LINES = 200
MIN_VALIDATION_CUSTOMERS = 20
BATCH = 20_000  # customers whose lists are computed and written at once


@dataclass
class Trained:
    """The outcome to register and, when it was activated, the model whose lists to write."""

    outcome: Outcome
    model: recommend.Model | None = None
    active: np.ndarray | None = None  # whether each of the model's products is for sale


async def train(*, org_id: int, as_of: datetime, window_days: float,
                customer_ids: Sequence[int] | None = None) -> Trained:
    """Train and validate on (a sample of) the customers' lines, off the event loop."""
    lines, products, active = await load_order_lines(org_id=org_id, as_of=as_of,
                                                     customer_ids=customer_ids)
    segments = await load_segments(org_id=org_id, customer_ids=customer_ids)
    return await asyncio.to_thread(_train, lines, products, active, segments, to_day(as_of),
                                   window_days)


async def write(trained: Trained, *, org_id: int, as_of: datetime,
                ids: Sequence[int] | np.ndarray, using: BaseDBAsyncClient,
                batch: int = BATCH) -> None:
    """Replace the organization's lists with the model's, ``batch`` customers at a time (their
    lines read, ranked and written, then forgotten), in the caller's transaction."""
    model, active = trained.model, trained.active
    assert model is not None and active is not None  # noqa: PT018
    await recommendations.clear(org_id=org_id, using=using)
    await recommendations.add(org_id=org_id, lists=_shared(model, active), using=using)

    async def load(chunk: list[int]) -> tuple[Lines, dict[int, str]]:
        lines, _, _ = await load_order_lines(org_id=org_id, as_of=as_of, customer_ids=chunk)
        # the segments the model was trained with (committed ones, not this run's new ones)
        return lines, await load_segments(org_id=org_id, customer_ids=chunk)

    async with WriteBehind() as writer:
        async for _, (lines, segments) in prefetched(chunks(ids, batch), load):
            lists = await asyncio.to_thread(lists_of, model, lines, active, segments)
            await writer.put(recommendations.add(org_id=org_id, lists=lists, using=using))


def _train(lines: Lines, products: np.ndarray, active: np.ndarray,
           segments: dict[int, str], as_of: float, window: float) -> Trained:
    if len(lines.customer) < MIN_LINES or len(products) < 2:
        return Trained(Outcome(KIND, NOT_ENOUGH_DATA, f"not enough data: {len(lines.customer)}"
                               f" paid order lines name catalogue products; needs {MIN_LINES}"))
    metrics = recommend.evaluate(lines, products, as_of, window, segments)
    customers = metrics["customers"]
    assert isinstance(customers, int)
    if customers < MIN_VALIDATION_CUSTOMERS:
        return Trained(Outcome(KIND, NOT_ENOUGH_DATA, f"not enough data: {customers} customers"
                               f" bought in the last {window:g} days; needs"
                               f" {MIN_VALIDATION_CUSTOMERS}", metrics))
    windows = {"train_window": (float(lines.day.min()), as_of - window),
               "validation_window": (as_of - window, as_of)}
    if not recommend.beats_baselines(metrics):
        return Trained(Outcome(KIND, NOT_ACTIVATED, "did not beat every baseline on recall@10",
                               metrics, None, (), len(lines.customer), customers, **windows))
    model = recommend.fit(lines, products, as_of, segments)  # on everything, now validated
    model.metrics = metrics
    outcome = Outcome(KIND, ACTIVATED, "beat popularity, segment popularity and buy-again",
                      metrics, model, (), len(lines.customer), customers, **windows)
    return Trained(outcome, model, active)


def lists_of(model: recommend.Model, lines: Lines, active: np.ndarray,
             segments: dict[int, str]) -> Lists:
    """Every customer's list (those with ``lines``) as the ranker picks it, as arrays."""
    customers, matrix = recommend.history_matrix(lines, model)
    ranked = recommend.rank(model, matrix, [segments.get(int(c)) for c in customers],
                            k=PER_CUSTOMER, allowed=active)
    real = np.arange(ranked.columns.shape[1])[None, :] < ranked.counts[:, None]
    rows, _ = np.nonzero(real)  # customer by customer, best first
    columns = ranked.columns[real]
    basis = ranked.basis[real]
    bought = matrix[rows, columns]  # the decayed purchases of each pick (0: never bought)
    return Lists(Picks(
        customer_ids=customers[rows], product_ids=model.products[columns],
        scores=np.round(ranked.scores[real], 6), kinds=ranked.kinds[real],
        basis_ids=np.where(basis >= 0, model.products[np.maximum(basis, 0)], -1),
        purchased=np.asarray(bought).ravel() > 0,
    ), [], [])


def _shared(model: recommend.Model, active: np.ndarray) -> Lists:
    """The lists every customer shares: popular products per segment, each one's neighbours."""
    popular = []
    for segment, values in [("", model.popularity), *model.segment_popularity.items()]:
        ranked = [i for i in np.argsort(-values, kind="stable") if active[i] and values[i] > 0]
        popular += [(segment, rank, int(model.products[i]), round(float(values[i]), 6))
                    for rank, i in enumerate(ranked[:PER_SEGMENT])]
    neighbours = []
    for column, product in enumerate(model.products):
        near = [(int(c), float(s)) for c, s in zip(model.neighbours[column],
                                                   model.similarity[column], strict=True)
                if c >= 0 and active[c] and s > 0][:NEIGHBOURS]
        neighbours += [(int(product), rank, int(model.products[c]), round(s, 6))
                       for rank, (c, s) in enumerate(near)]
    return Lists(Picks.none(), popular, neighbours)
