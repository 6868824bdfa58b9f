"""Calibrated gradient boosting for yes/no outcomes (churn and custom predictions).

A booster's raw probabilities are often too extreme on small or rare-outcome data (it ranks
well and is overconfident). Where there are enough rows, one booster is fitted on four fifths
and calibrated by isotonic regression on a random fifth held out; otherwise three boosters are
calibrated by 3-fold cross-validation with a sigmoid (few rows cannot carry isotonic steps).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from ml.features import Floats, Ints

ISOTONIC_MIN_ROWS = 5_000


def held_out_rows(y: Floats, seed: int, min_per_class: int) -> tuple[Ints, Ints] | None:
    """Rows to fit the booster on and a random fifth to calibrate it on; None when the data is
    too small (or the fifth too one-sided) to hold rows out for isotonic calibration."""
    if len(y) < 2 * ISOTONIC_MIN_ROWS:
        return None
    held = np.random.default_rng(seed).random(len(y)) < 0.2
    yes = int(y[held].sum())
    if min(yes, int(held.sum()) - yes) < min_per_class:
        return None
    return np.flatnonzero(~held), np.flatnonzero(held)


def fit(booster: Any, X: Floats, y: Floats, seed: int, min_per_class: int, *,
        isotonic: bool = True) -> Any:
    """``booster`` (unfitted) fitted and calibrated on ``X``, ``y`` as the module says; with
    ``isotonic`` False, data large enough for it gets the booster alone, fitted on every row."""
    labels = y.astype(int)
    rows = held_out_rows(y, seed, min_per_class)
    if rows is None:
        classifier = CalibratedClassifierCV(booster, method="sigmoid", cv=3)
        classifier.fit(X, labels)
        return classifier
    if not isotonic:
        return booster.fit(X, labels)
    learn, held = rows
    booster.fit(X[learn], labels[learn])
    classifier = CalibratedClassifierCV(FrozenEstimator(booster), method="isotonic")
    classifier.fit(X[held], labels[held])
    return classifier


def one_member(classifier: Any, X: Floats) -> Floats:
    """The first calibrated member's probability (the only one, unless the model was
    calibrated by cross-validation on small data): it moves like the ensemble's at a fraction
    of the cost, which is what the reasons' many prediction passes need. A classifier stored
    before calibration existed answers for itself."""
    members = getattr(classifier, "calibrated_classifiers_", None)
    source = members[0] if members else classifier
    return np.asarray(source.predict_proba(X)[:, 1], dtype=np.float64)
