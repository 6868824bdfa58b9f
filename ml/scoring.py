"""Batch scoring: every customer's churn risk, expected revenue and orders, segment and reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ml.churn import ChurnModel
from ml.explain import Reason, local_reasons
from ml.features import Floats, History, Ints, align, existing_at, features_at
from ml.revenue import RevenueModel
from ml.segments import SegmentModel

REASON_CANDIDATES = 10  # the most important features, by validation importance


@dataclass
class ActiveModels:
    """The models to score with (any may be missing) and the churn model's importances."""

    churn: ChurnModel | None = None
    revenue: RevenueModel | None = None
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


def score(
    history: History, as_of: float, models: ActiveModels, rows: Ints | None = None
) -> Scores:
    """Score the customers existing at ``as_of`` (or ``rows`` of the history) with ``models``."""
    index = existing_at(history, as_of) if rows is None else rows
    table = features_at(history, as_of, index)
    out: dict[str, Any] = {"churn": None, "revenue": None, "orders": None, "segments": None,
                           "reasons": None}
    if models.churn is not None:
        X = align(table, models.churn.names).values
        out["churn"] = models.churn.predict(X)
        out["reasons"] = local_reasons(
            models.churn.predict, X, models.churn.reference, models.churn.names,
            candidates=_candidates(models, models.churn.names),
        )
    if models.revenue is not None:
        out["revenue"], out["orders"] = models.revenue.predict(
            align(table, models.revenue.names).values
        )
    if models.segments is not None:
        out["segments"] = models.segments.assign(table)
    return Scores(customer_ids=history.customer_ids[index], **out)
