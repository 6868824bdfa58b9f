"""Training the recommender in a training run: validate on a time split, then compute every
customer's list, the popular lists per segment and each product's neighbours for serving."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from db.recommendation import NEIGHBOURS, PER_CUSTOMER, PER_SEGMENT, Lists
from ml import recommend
from ml.features import to_day
from ml.history import load_order_lines, load_segments
from ml.order_lines import Lines
from ml.training import ACTIVATED, NOT_ACTIVATED, NOT_ENOUGH_DATA, Outcome

KIND = "RECOMMENDATIONS"
MIN_LINES = 200
MIN_VALIDATION_CUSTOMERS = 20


@dataclass
class Trained:
    """The outcome to register and, when it was activated, the lists to serve."""

    outcome: Outcome
    lists: Lists | None = None


async def train(*, org_id: int, as_of: datetime, window_days: float) -> Trained:
    """Train, validate and (if it beats the baselines) compute the lists, off the event loop."""
    lines, products, active = await load_order_lines(org_id=org_id, as_of=as_of)
    segments = await load_segments(org_id=org_id)
    return await asyncio.to_thread(_train, lines, products, active, segments, to_day(as_of),
                                   window_days)


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
    return Trained(outcome, _lists(model, lines, active, segments))


def _lists(model: recommend.Model, lines: Lines, active: np.ndarray,
           segments: dict[int, str]) -> Lists:
    customer_ids: list[int] = []
    ranks: list[int] = []
    product_ids: list[int] = []
    scores: list[float] = []
    kinds: list[str] = []
    basis: list[int | None] = []
    purchased: list[bool] = []
    customers, matrix = recommend.history_matrix(lines, model)
    every = recommend.recommend_many(model, matrix, [segments.get(int(c)) for c in customers],
                                     k=PER_CUSTOMER, allowed=active)
    for row, (customer, picks) in enumerate(zip(customers.tolist(), every, strict=True)):
        bought = set(matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]].tolist())
        for rank, pick in enumerate(picks):
            customer_ids.append(customer)
            ranks.append(rank)
            product_ids.append(int(model.products[pick.column]))
            scores.append(round(pick.score, 6))
            kinds.append(pick.kind)
            basis.append(None if pick.basis is None else int(model.products[pick.basis]))
            purchased.append(pick.column in bought)
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
    return Lists(customer_ids, ranks, product_ids, scores, kinds, basis, purchased, popular,
                 neighbours)
