"""Churn risk: calibrated gradient boosting against a calibrated recency rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from ml import calibration
from ml.explain import importances
from ml.features import Floats, medians
from ml.labels import Examples, NotEnoughData
from ml.lifetime_features import BtydFeatures

MIN_PER_CLASS = 10


@dataclass
class ChurnModel:
    """A fitted churn classifier; ``reference`` holds training medians (for reasons)."""

    names: tuple[str, ...]
    classifier: Any
    reference: Floats
    btyd: BtydFeatures | None = None  # the BG/NBD behind its btyd_* features, as of training

    def predict(self, X: Floats) -> Floats:
        """Probability of no order in the horizon, per row."""
        proba: Floats = self.classifier.predict_proba(X)[:, 1]
        return proba

    def predict_one_member(self, X: Floats) -> Floats:
        """One calibrated member's probability, for the reasons' many passes
        (``ml.calibration.one_member``)."""
        return calibration.one_member(self.classifier, X)


@dataclass
class RecencyBaseline:
    """The naive rule: the longer since the last order, the likelier churn (calibrated)."""

    column: int
    model: LogisticRegression

    def predict(self, X: Floats) -> Floats:
        """Probability of churn from recency alone."""
        proba: Floats = self.model.predict_proba(np.log1p(X[:, [self.column]]))[:, 1]
        return proba


def check(examples: Examples, what: str) -> None:
    """Refuse label sets a classifier cannot learn or be scored on."""
    churners = int(examples.churned.sum())
    stayers = len(examples) - churners
    if min(churners, stayers) < MIN_PER_CLASS:
        raise NotEnoughData(
            f"{what} has {churners} churners and {stayers} buyers; "
            f"at least {MIN_PER_CLASS} of each are needed"
        )


def fit(examples: Examples, seed: int = 0) -> ChurnModel:
    """Gradient boosting, calibrated (``ml.calibration``: isotonic on a held-out fifth; on
    small data, 3-fold sigmoid).

    One booster calibrated on held-out rows costs a third of a 3-fold calibrated ensemble in
    training and in every prediction pass; at 100,000 customers it ranked as well (ROC AUC
    0.9557 against 0.9563) and calibrated about as well (Brier 0.0794 against 0.0788). The
    latest window's rows as the calibration set did worse (0.9550 / 0.0798).
    """
    check(examples, "the training window")
    booster = HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.08, max_leaf_nodes=31, min_samples_leaf=20,
        l2_regularization=1.0, early_stopping=True, validation_fraction=0.15,
        n_iter_no_change=10, random_state=seed,
    )
    classifier = calibration.fit(booster, examples.X, examples.churned, seed, MIN_PER_CLASS)
    return ChurnModel(examples.names, classifier, medians(examples.X))


def fit_baseline(examples: Examples) -> RecencyBaseline:
    """The recency rule, turned into probabilities by a one-feature logistic regression."""
    column = examples.names.index("recency_days")
    model = LogisticRegression()
    model.fit(np.log1p(examples.X[:, [column]]), examples.churned.astype(int))
    return RecencyBaseline(column, model)


def _scores(y: Floats, p: Floats) -> dict[str, float]:
    true, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
    return {
        "roc_auc": round(float(roc_auc_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "log_loss": round(float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6))), 4),
        "calibration_error": round(float(np.mean(np.abs(true - predicted))), 4),
    }


def evaluate(
    model: ChurnModel, baseline: RecencyBaseline, validation: Examples
) -> tuple[dict[str, Any], bool]:
    """Validation metrics of model and baseline, and whether the model beats the baseline.

    It must rank better (ROC AUC) without being worse calibrated (Brier score).
    """
    check(validation, "the validation window")
    y = validation.churned
    ours = _scores(y, model.predict(validation.X))
    theirs = _scores(y, baseline.predict(validation.X))
    beats = ours["roc_auc"] > theirs["roc_auc"] and ours["brier"] <= theirs["brier"]
    metrics: dict[str, Any] = {
        **ours,
        "baseline": {"name": "recency rule", **theirs},
        "churn_rate": round(float(y.mean()), 4),
        # one calibrated member ranks like the ensemble, at a third of the cost
        "importances": importances(
            model.classifier.calibrated_classifiers_[0].estimator, validation.X, y,
            model.names, "roc_auc",
        ),
    }
    return metrics, beats
