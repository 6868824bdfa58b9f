"""One training run over an organization's history: every model kind, validated and compared.

Pure: it takes a ``History`` and returns outcomes with artifacts; ``ml.jobs`` runs it in a
worker process and stores the results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np

from ml import churn, forecast, lifetime_validation, revenue, segments
from ml.btyd import CannotFit
from ml.features import History, existing_at, features_at
from ml.labels import Examples, NotEnoughData, TimeSplit, examples_at, plan_split
from ml.lifetime_features import BtydFeatures, fitted_at
from ml.outcome import ACTIVATED, NOT_ACTIVATED, NOT_ENOUGH_DATA, Outcome
from ml.selection import choose, lifetime_outcomes

__all__ = ["ACTIVATED", "KINDS", "NOT_ACTIVATED", "NOT_ENOUGH_DATA", "Outcome", "train_all"]

Progress = Callable[[float, str], None]
KINDS = ("CHURN", "REVENUE", "SEGMENTS", "FORECAST")
def _concat(a: Examples, b: Examples) -> Examples:
    parts = [np.concatenate([x, y]) for x, y in zip(_arrays(a), _arrays(b), strict=True)]
    return Examples(a.names, *parts)


def _arrays(e: Examples) -> list[Any]:
    return [e.X, e.churned, e.revenue, e.orders, e.last_revenue, e.last_orders, e.cutoff]


def _supervised(
    kind: str, module: Any, baseline: Callable[[Examples], Any],
    train: Examples, validation: Examples, split: TimeSplit, seed: int,
    btyd_now: BtydFeatures,
) -> Outcome:
    model = module.fit(train, seed)
    metrics, beats = module.evaluate(model, baseline(train), validation)
    windows = {
        "train_window": (min(split.train), split.validation),
        "validation_window": (split.validation, split.as_of),
    }
    if not beats:
        return Outcome(kind, NOT_ACTIVATED, "did not beat its baseline on the validation window",
                       metrics, None, train.names, len(train), len(validation), **windows)
    # validated: refit on every window, so the served model has seen the latest behaviour
    merged = _concat(train, validation)
    final = (revenue.fit(merged, seed, metrics["served"]) if module is revenue
             else module.fit(merged, seed))
    final.btyd = btyd_now
    served = f"{metrics['served']}: " if "served" in metrics else ""
    return Outcome(kind, ACTIVATED, f"{served}beat its baseline on the validation window",
                   metrics, final, train.names, len(train), len(validation), **windows)


def _guarded(kind: str, work: Callable[[], Outcome]) -> Outcome:
    try:
        return work()
    except NotEnoughData as exc:
        return Outcome(kind, NOT_ENOUGH_DATA, f"not enough data: {exc}")


def train_all(
    history: History, as_of: float, horizon: float, *, progress: Progress | None = None,
    max_rows: int = 300_000, seed: int = 0, sales: History | None = None,
) -> dict[str, Outcome]:
    """Train and judge every kind of model as of ``as_of`` for a ``horizon``-day window.

    ``history`` may be a sample of the customers; ``sales`` then holds the whole
    organization's sales per day for the forecast (``ml.history.load_sales``).
    """
    report = progress or (lambda fraction, stage: None)
    outcomes: dict[str, Outcome] = {}
    report(0.02, "fitting purchase models")
    try:
        fitted = lifetime_validation.validate(history, as_of, horizon, seed)
    except (NotEnoughData, CannotFit) as exc:
        probabilistic = lifetime_outcomes(f"not enough data: {exc}", as_of)
    else:
        probabilistic = lifetime_outcomes(fitted, as_of)
    report(0.05, "building examples")
    try:
        split = plan_split(history, as_of, horizon)
        train = examples_at(history, split.train, horizon).sample(max_rows, seed)
        validation = examples_at(history, (split.validation,), horizon, train.names)
        btyd_now = fitted_at(history, as_of, horizon, existing_at(history, as_of))
    except NotEnoughData as exc:
        for kind in ("CHURN", "REVENUE"):
            outcomes[kind] = Outcome(kind, NOT_ENOUGH_DATA, f"not enough data: {exc}")
    else:
        report(0.2, "training churn model")
        outcomes["CHURN"] = _guarded("CHURN", lambda: _supervised(
            "CHURN", churn, churn.fit_baseline, train, validation, split, seed, btyd_now))
        report(0.5, "training revenue model")
        outcomes["REVENUE"] = _guarded("REVENUE", lambda: _supervised(
            "REVENUE", revenue, revenue.fit_linear, train, validation, split, seed,
            btyd_now))
    for kind in ("CHURN", "REVENUE"):
        outcomes[kind] = choose(outcomes[kind], probabilistic[kind], horizon)
    report(0.7, "finding segments")
    outcomes["SEGMENTS"] = _guarded("SEGMENTS", lambda: _segments(history, as_of, seed))
    report(0.75, "forecasting sales")
    outcomes["FORECAST"] = _guarded("FORECAST", lambda: _forecast(sales or history, as_of))
    return outcomes


def _segments(history: History, as_of: float, seed: int) -> Outcome:
    table = features_at(history, as_of)
    model, metrics, good = segments.fit(table, seed)
    if not good:
        return Outcome("SEGMENTS", NOT_ACTIVATED, "clusters are not distinct enough", metrics,
                       None, segments.DIMENSIONS, len(table.index))
    return Outcome("SEGMENTS", ACTIVATED, f"{len(model.names)} segments", metrics, model,
                   segments.DIMENSIONS, len(table.index))


def _forecast(history: History, as_of: float) -> Outcome:
    months, metrics = forecast.fit(history, as_of)
    artifact = {"months": [asdict(m) for m in months], "currency": history.currency,
                "unconverted_orders": history.unconverted_orders, **metrics}
    return Outcome("FORECAST", ACTIVATED, f"monthly forecast by {metrics['method']}", metrics,
                   artifact, (), metrics["months_of_history"])
