"""Batch scoring: every customer's churn risk, expected revenue and orders, segment and reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.churn import ChurnModel
from ml.explain import EXPECTED_REVENUE, Reason, local_reasons
from ml.features import (
    FeatureTable,
    Floats,
    History,
    Ints,
    align,
    describe,
    existing_at,
    features_at,
)
from ml.lifetime import LifetimeModel, LifetimeScores
from ml.lifetime_features import BtydFeatures
from ml.lifetime_reasons import churn_reasons, revenue_reasons
from ml.revenue import RevenueModel
from ml.segments import SegmentModel

REASON_CANDIDATES = 10  # the most important features, by validation importance
REVENUE_CANDIDATES = 5  # each candidate costs a prediction pass; revenue reasons are fewer
TYPICAL_REVENUE = Reason(
    "expected_revenue", "DOWN", 0.0, EXPECTED_REVENUE,
    "nothing in their history moves the expected revenue far from a typical customer's",
)


@dataclass
class ActiveModels:
    """The models to score with (any may be missing) and the churn model's importances."""

    churn: ChurnModel | LifetimeModel | None = None
    revenue: RevenueModel | LifetimeModel | None = None
    segments: SegmentModel | None = None
    churn_importances: dict[str, float] | None = None
    revenue_importances: dict[str, float] | None = None


@dataclass
class Scores:
    """One entry per scored customer (``customer_ids``); None where no model is active."""

    customer_ids: Ints
    churn: Floats | None
    revenue: Floats | None
    orders: Floats | None
    segments: list[str] | None
    reasons: list[list[Reason]] | None


def _candidates(
    importances: dict[str, float] | None, names: tuple[str, ...], limit: int = REASON_CANDIDATES
) -> tuple[str, ...]:
    ranked = [n for n in (importances or {}) if n in names]
    return tuple(ranked[:limit]) or names[:limit]


def _with_btyd(history: History, table: FeatureTable, btyd: BtydFeatures | None) -> FeatureTable:
    return table if btyd is None else btyd.extend(history, table)


def score(
    history: History, as_of: float, models: ActiveModels, rows: Ints | None = None
) -> Scores:
    """Score the customers existing at ``as_of`` (or ``rows`` of the history) with ``models``."""
    index = existing_at(history, as_of) if rows is None else rows
    table = features_at(history, as_of, index)
    out: dict[str, Any] = {"churn": None, "revenue": None, "orders": None, "segments": None,
                           "reasons": None}
    lifetimes: dict[int, LifetimeScores] = {}

    def lifetime(model: LifetimeModel) -> LifetimeScores:
        if id(model) not in lifetimes:
            lifetimes[id(model)] = model.predict(history, as_of, index)
        return lifetimes[id(model)]

    reasons: list[list[Reason]] = [[] for _ in index]

    def words(feature: str, value: float) -> str | None:
        return describe(history, feature, value)

    if isinstance(models.churn, LifetimeModel):
        scores = lifetime(models.churn)
        out["churn"] = scores.churn
        reasons = [row + churn_reasons(scores, i) for i, row in enumerate(reasons)]
    elif models.churn is not None:
        X = align(_with_btyd(history, table, models.churn.btyd), models.churn.names).values
        out["churn"] = models.churn.predict(X)
        reasons = [row + found for row, found in zip(reasons, local_reasons(
            models.churn.predict_one_member, X, models.churn.reference, models.churn.names,
            candidates=_candidates(models.churn_importances, models.churn.names),
            describe=words,
        ), strict=True)]
    if isinstance(models.revenue, LifetimeModel):
        scores = lifetime(models.revenue)
        out["revenue"], out["orders"] = scores.revenue, scores.orders
        typical = float(models.revenue.spend.population_mean) if models.revenue.spend \
            else models.revenue.mean_order_value
        reasons = [row + revenue_reasons(scores, i, models.revenue.horizon, typical,
                                         history.currency)
                   for i, row in enumerate(reasons)]
    elif models.revenue is not None:
        model = models.revenue
        X = align(_with_btyd(history, table, model.btyd), model.names).values
        out["revenue"], out["orders"] = model.predict(X)
        found = local_reasons(
            lambda rows: np.maximum(model.revenue.predict(rows), 0.0), X, model.reference,
            model.names, top=2, min_weight=0.01, about=EXPECTED_REVENUE,
            candidates=_candidates(models.revenue_importances, model.names, REVENUE_CANDIDATES),
            describe=words,
        )
        reasons = [row + (more or [TYPICAL_REVENUE]) for row, more in zip(reasons, found,
                                                                           strict=True)]
    if models.churn is not None or models.revenue is not None:
        out["reasons"] = reasons
    if models.segments is not None:
        out["segments"] = models.segments.assign(table)
    return Scores(customer_ids=history.customer_ids[index], **out)
