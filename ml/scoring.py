"""Batch scoring: every customer's churn risk, expected revenue and orders, segment and reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ml.churn import ChurnModel
from ml.explain import Reason, local_reasons
from ml.features import FeatureTable, Floats, History, Ints, align, existing_at, features_at
from ml.lifetime import LifetimeModel, LifetimeScores
from ml.lifetime_features import BtydFeatures
from ml.lifetime_reasons import churn_reasons, revenue_reasons
from ml.revenue import RevenueModel
from ml.segments import SegmentModel

REASON_CANDIDATES = 10  # the most important features, by validation importance


@dataclass
class ActiveModels:
    """The models to score with (any may be missing) and the churn model's importances."""

    churn: ChurnModel | LifetimeModel | None = None
    revenue: RevenueModel | LifetimeModel | None = None
    segments: SegmentModel | None = None
    churn_importances: dict[str, float] | None = None


@dataclass
class Scores:
    """One entry per scored customer (``customer_ids``); None where no model is active."""

    customer_ids: Ints
    churn: Floats | None
    revenue: Floats | None
    orders: Floats | None
    segments: list[str] | None
    reasons: list[list[Reason]] | None


def _candidates(models: ActiveModels, names: tuple[str, ...]) -> tuple[str, ...]:
    ranked = [n for n in (models.churn_importances or {}) if n in names]
    return tuple(ranked[:REASON_CANDIDATES]) or names


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
    if isinstance(models.churn, LifetimeModel):
        scores = lifetime(models.churn)
        out["churn"] = scores.churn
        reasons = [row + churn_reasons(scores, i) for i, row in enumerate(reasons)]
    elif models.churn is not None:
        X = align(_with_btyd(history, table, models.churn.btyd), models.churn.names).values
        out["churn"] = models.churn.predict(X)
        reasons = [row + found for row, found in zip(reasons, local_reasons(
            models.churn.predict, X, models.churn.reference, models.churn.names,
            candidates=_candidates(models, models.churn.names),
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
        out["revenue"], out["orders"] = models.revenue.predict(
            align(_with_btyd(history, table, models.revenue.btyd), models.revenue.names).values
        )
    if models.churn is not None or models.revenue is not None:
        out["reasons"] = reasons
    if models.segments is not None:
        out["segments"] = models.segments.assign(table)
    return Scores(customer_ids=history.customer_ids[index], **out)
