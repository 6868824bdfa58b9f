"""A custom prediction's model: gradient boosting judged against the base rate, with reasons.

Time-split as churn is: examples from cutoffs before the validation window, validation on the
last fully observed window ``[as_of - H, as_of)``. The model is served only when it ranks
customers (ROC AUC at least ``MIN_AUC``) and beats the base rate's Brier score by at least
``MIN_SKILL`` of it; the registry's metrics record both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml import calibration as calibrated
from ml.explain import Reason, importances, local_reasons
from ml.features import Floats, Ints, describe, medians
from ml.labels import NotEnoughData, plan_split
from ml.outcome import ACTIVATED, NOT_ACTIVATED, NOT_ENOUGH_DATA, Outcome
from ml.score_features import ScoreExamples, examples_at, table_at, tag_vocabulary
from ml.score_history import ScoreHistory

MIN_PER_CLASS = 10
MIN_AUC = 0.55
MIN_SKILL = 0.01  # at least 1 % lower Brier score than always saying the base rate
MAX_TRAIN_ROWS = 80_000
REASON_CANDIDATES = 5
IMPORTANCE_ROWS = 5_000


@dataclass
class ScoreModel:
    """A fitted classifier for one definition, with what scoring and reasons need."""

    definition_id: int
    name: str
    words: str  # the outcome in words: "get the tag \"vip\""
    horizon: float
    names: tuple[str, ...]
    vocabulary: tuple[str, ...]
    classifier: Any
    reference: Floats
    importances: dict[str, float] = field(default_factory=dict)

    def predict(self, X: Floats) -> Floats:
        """Probability of the outcome within the horizon, per row."""
        return np.asarray(self.classifier.predict_proba(X)[:, 1], dtype=np.float64)


def _check(examples: ScoreExamples, what: str) -> None:
    yes = examples.positives()
    if min(yes, len(examples) - yes) < MIN_PER_CLASS:
        raise NotEnoughData(f"{what} has {yes} customers with the outcome and "
                            f"{len(examples) - yes} without; at least {MIN_PER_CLASS} of each"
                            " are needed")


def _fit(examples: ScoreExamples, seed: int) -> Any:
    """Gradient boosting, calibrated by 3-fold sigmoid on small data (``ml.calibration``): there
    a booster alone ranked well and was too sure of a rare outcome (0.5 % said where 7 %
    happened), so its Brier score was no better than the base rate's. On large data the
    booster alone, fitted on every row, calibrated as well as one fitted on four fifths and
    calibrated on the fifth (100,000 customers: Brier 0.0509 / 0.0493 against 0.0511 /
    0.0495), so it is used there."""
    return calibrated.fit(booster(seed), examples.X, examples.y, seed, MIN_PER_CLASS,
                          isotonic=False)


def booster(seed: int) -> HistGradientBoostingClassifier:
    """The gradient boosting every custom prediction starts from (unfitted)."""
    return HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.08, max_leaf_nodes=15, min_samples_leaf=20,
        l2_regularization=1.0, early_stopping=True, validation_fraction=0.15,
        n_iter_no_change=10, random_state=seed,
    )


def _sample(examples: ScoreExamples, limit: int, seed: int) -> ScoreExamples:
    if len(examples) <= limit:
        return examples
    keep = np.sort(np.random.default_rng(seed).choice(len(examples), limit, replace=False))
    return ScoreExamples(examples.names, examples.X[keep], examples.y[keep])


def calibration_table(y: Floats, p: Floats, bins: int = 10) -> list[dict[str, Any]]:
    """Predicted against observed rates in quantile bins of the prediction."""
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    return [{"predicted": round(float(p[index == b].mean()), 4),
             "observed": round(float(y[index == b].mean()), 4),
             "customers": int((index == b).sum())} for b in np.unique(index)]


def evaluate(classifier: Any, validation: ScoreExamples) -> tuple[dict[str, Any], bool]:
    """Validation metrics against the base rate, and whether the model beats it."""
    y = validation.y
    p = classifier.predict_proba(validation.X)[:, 1]
    rate = float(y.mean())
    base_brier = float(np.mean((y - rate) ** 2))
    auc, brier = float(roc_auc_score(y, p)), float(brier_score_loss(y, p))
    top = p >= np.quantile(p, 0.9)
    beats = auc >= MIN_AUC and brier <= base_brier * (1 - MIN_SKILL)
    return {
        "roc_auc": round(auc, 4), "brier": round(brier, 4),
        "baseline": {"name": "base rate", "rate": round(rate, 4), "brier": round(base_brier, 4),
                     "roc_auc": 0.5},
        "won_by": {"brier": round(base_brier - brier, 4), "roc_auc": round(auc - 0.5, 4)},
        "lift_top_decile": round(float(y[top].mean()) / rate, 3) if rate > 0 else None,
        "calibration": calibration_table(y, p),
    }, beats


def train(history: ScoreHistory, definition: dict[str, Any], words: str, as_of: float,
          seed: int = 0) -> Outcome:
    """Train, validate and (when it beats the base rate) refit one definition's model."""
    horizon = float(definition["horizon_days"])
    definition_id = int(definition["id"])
    try:
        split = plan_split(history.base, as_of, horizon)
        vocabulary = tag_vocabulary(history)
        train_set = _sample(examples_at(history, definition_id, split.train, horizon,
                                        vocabulary), MAX_TRAIN_ROWS, seed)
        validation = examples_at(history, definition_id, (split.validation,), horizon,
                                 vocabulary)
        _check(train_set, "the training windows")
        _check(validation, "the validation window")
    except NotEnoughData as exc:
        return Outcome("SCORE", NOT_ENOUGH_DATA, f"not enough data: {exc}")
    classifier = _fit(train_set, seed)
    metrics, beats = evaluate(classifier, validation)
    windows = ((min(split.train), split.validation), (split.validation, split.as_of))
    counts = (train_set.names, len(train_set), len(validation))
    if not beats:
        return Outcome("SCORE", NOT_ACTIVATED, "did not beat the base rate on the validation"
                       f" window (ROC AUC {metrics['roc_auc']}, Brier {metrics['brier']} against"
                       f" {metrics['baseline']['brier']})", metrics, None, *counts, *windows)
    sample = _sample(validation, IMPORTANCE_ROWS, seed)
    metrics["importances"] = importances(classifier, sample.X, sample.y, sample.names,
                                         "roc_auc", seed)
    both = ScoreExamples(train_set.names, np.concatenate([train_set.X, validation.X]),
                         np.concatenate([train_set.y, validation.y]))
    model = ScoreModel(definition_id, definition["name"], words, horizon, train_set.names,
                       vocabulary, _fit(_sample(both, MAX_TRAIN_ROWS, seed), seed),
                       medians(train_set.X), metrics["importances"])
    return Outcome("SCORE", ACTIVATED, "beat the base rate on the validation window (ROC AUC"
                   f" {metrics['roc_auc']}, Brier {metrics['brier']} against"
                   f" {metrics['baseline']['brier']})", metrics, model, *counts, *windows)


def _phrase(feature: str, value: float) -> str | None:
    """The words for the builder's own features (None: ``ml.explain``'s label and value)."""
    if feature.startswith("tag:"):
        return f"{'tagged' if value >= 0.5 else 'not tagged'} \"{feature[4:]}\""
    if feature.startswith("stage:"):
        return f"{'in' if value >= 0.5 else 'not in'} stage {feature[6:]}"
    if feature == "outcome_before":
        return "it never happened to them before" if value == 0 else \
            f"it happened {value:.0f} time{'s' if value != 1 else ''} before"
    if feature == "outcome_365d":
        return f"it happened {value:.0f} time{'s' if value != 1 else ''} in the last year"
    if feature == "days_since_outcome":
        return f"{value:.0f} days since it last happened (or since they joined)"
    return None


def score(model: ScoreModel, history: ScoreHistory, as_of: float, rows: Ints
          ) -> tuple[Floats, list[list[Reason]]]:
    """Probabilities of ``rows`` of the history as of ``as_of``, with up to 3 reasons each."""
    names, X = table_at(history, model.definition_id, as_of, rows, model.vocabulary)
    assert names == model.names, "the feature set changed since training"
    p = model.predict(X)
    ranked = [n for n in model.importances if n in names][:REASON_CANDIDATES]
    window = f"within {model.horizon:.0f} days"
    found = local_reasons(
        partial(calibrated.one_member, model.classifier), X, model.reference, names,
        candidates=tuple(ranked) or None, top=3, min_weight=0.005, about=model.name,
        describe=lambda feature, value: describe(history.base, feature, value)
        or _phrase(feature, value),
        outcome=f"the chance that they {model.words} {window}",
    )
    reasons = [row or [Reason(
        "base_rate", "DOWN", 0.0, model.name,
        f"nothing sets them apart from a typical customer: about {100 * p[i]:.0f} % chance"
        f" that they {model.words} {window}")] for i, row in enumerate(found)]
    return p, reasons
