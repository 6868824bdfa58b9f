"""From training outcomes to registry rows and prediction rows (and back from stored models)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from db.prediction import ScoreRows
from db.prediction_registry import NewModel
from ml import registry
from ml.features import History, existing_at, from_day, to_day
from ml.scoring import ActiveModels, Scores, score
from ml.training import ACTIVATED, NOT_ENOUGH_DATA, Outcome

Rows = Mapping[str, dict[str, Any]]
SCORE_BATCH = 20_000


def _window(window: tuple[float, float] | None) -> tuple[datetime, datetime] | None:
    return None if window is None else (from_day(window[0]), from_day(window[1]))


def new_models(outcomes: Mapping[str, Outcome]) -> list[NewModel]:
    """Registry rows for every model trained (artifacts only for the activated ones)."""
    models = []
    for outcome in outcomes.values():
        if outcome.status == NOT_ENOUGH_DATA:
            continue
        blob, checksum = (
            registry.dump(outcome.artifact) if outcome.status == ACTIVATED else (None, None)
        )
        models.append(NewModel(
            kind=outcome.kind, activated=outcome.status == ACTIVATED, note=outcome.message,
            metrics=outcome.metrics, features=outcome.features,
            train_samples=outcome.train_samples, validation_samples=outcome.validation_samples,
            train_window=_window(outcome.train_window),
            validation_window=_window(outcome.validation_window),
            artifact=blob, checksum=checksum,
        ))
    return models


def kinds_to_keep(
    outcomes: Mapping[str, Outcome], previous: Rows, horizon_days: int, backtest: bool
) -> list[str]:
    """Kinds whose earlier active model stays: the new one failed, the old one still fits.

    A backtest never gets here (it changes nothing that is served), and a model made for
    another horizon answers another question.
    """
    if backtest:
        return []
    return [
        kind for kind, row in previous.items()
        if outcomes.get(kind) is None or outcomes[kind].status != ACTIVATED
        if row["horizon_days"] == horizon_days and not row["backtest"]
    ]


def load_models(active: Rows) -> ActiveModels:
    """Deserialize stored active models (checksums verified)."""
    def artifact(kind: str) -> Any:
        row = active.get(kind)
        return registry.load(row["artifact"], row["checksum"]) if row else None

    def importances(kind: str) -> dict[str, float] | None:
        row = active.get(kind)
        return (row["metrics"] or {}).get("importances") if row else None

    return ActiveModels(
        churn=artifact("CHURN"), revenue=artifact("REVENUE"), segments=artifact("SEGMENTS"),
        churn_importances=importances("CHURN"), revenue_importances=importances("REVENUE"),
    )


def scoring_models(
    outcomes: Mapping[str, Outcome], previous: Rows, keep: list[str]
) -> ActiveModels:
    """The models the run's scores come from: new ones where activated, kept ones otherwise."""
    kept = load_models({kind: previous[kind] for kind in keep if kind in previous})

    def pick(kind: str, old: Any) -> Any:
        outcome = outcomes.get(kind)
        return outcome.artifact if outcome and outcome.status == ACTIVATED else old

    def importances(kind: str, old: dict[str, float] | None) -> dict[str, float] | None:
        outcome = outcomes.get(kind)
        if outcome is not None and outcome.status == ACTIVATED:
            found: dict[str, float] | None = outcome.metrics.get("importances")
            return found
        return old

    return ActiveModels(
        churn=pick("CHURN", kept.churn), revenue=pick("REVENUE", kept.revenue),
        segments=pick("SEGMENTS", kept.segments),
        churn_importances=importances("CHURN", kept.churn_importances),
        revenue_importances=importances("REVENUE", kept.revenue_importances),
    )


def has_scoring_model(models: ActiveModels) -> bool:
    """Whether any model would score customers."""
    return not (models.churn is None and models.revenue is None and models.segments is None)


def score_rows(history: History, as_of: datetime, models: ActiveModels) -> ScoreRows:
    """Score everyone existing at ``as_of`` and shape the result for writing (no model, no row)."""
    if not has_scoring_model(models):
        return ScoreRows([], [], [], [], [], [])
    day = to_day(as_of)
    index = existing_at(history, day)
    # a batch at a time: feature tables and reason passes are held for one batch only
    parts = [score(history, day, models, index[start:start + SCORE_BATCH])
             for start in range(0, len(index), SCORE_BATCH)] or [score(history, day, models)]
    scores = parts[0] if len(parts) == 1 else _joined(parts)
    n = len(scores.customer_ids)

    def floats(values: Any) -> list[float | None]:
        if values is None:
            return [None] * n
        return [round(float(v), 6) if np.isfinite(v) else None for v in values]

    return ScoreRows(
        customer_ids=[int(i) for i in scores.customer_ids],
        churn=floats(scores.churn), revenue=floats(scores.revenue), orders=floats(scores.orders),
        segments=list(scores.segments) if scores.segments is not None else [None] * n,
        reasons=[[r.as_dict() for r in row] for row in scores.reasons]
        if scores.reasons is not None else [[] for _ in range(n)],
    )


def _joined(parts: list[Scores]) -> Scores:
    def cat(name: str) -> Any:
        values = [getattr(p, name) for p in parts]
        return None if values[0] is None else np.concatenate(values)

    def flat(name: str) -> Any:
        values = [getattr(p, name) for p in parts]
        return None if values[0] is None else [x for v in values for x in v]

    return Scores(customer_ids=np.concatenate([p.customer_ids for p in parts]),
                  churn=cat("churn"), revenue=cat("revenue"), orders=cat("orders"),
                  segments=flat("segments"), reasons=flat("reasons"))


def backtest_results(
    outcomes: Mapping[str, Outcome], report: Mapping[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """What a backtest reports per kind: its training outcome and what then happened."""
    return [{**outcome.summary(), "version": None, "backtest": report.get(kind)}
            for kind, outcome in outcomes.items()]


def results(outcomes: Mapping[str, Outcome], active: Rows, run_id: int) -> list[dict[str, Any]]:
    """What the run reports per kind, with the version it registered when that is now active."""
    out = []
    for kind, outcome in outcomes.items():
        row = active.get(kind)
        version = row["version"] if row and row["training_run_id"] == run_id else None
        out.append({**outcome.summary(), "version": version})
    return out
