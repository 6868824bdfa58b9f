"""Why a model says what it says: global importances and per-customer reasons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.inspection import permutation_importance

from ml.features import Floats

Predict = Callable[[Floats], Floats]
MAX_IMPORTANCE_ROWS = 20_000


@dataclass(frozen=True)
class Reason:
    """One feature that pushed a prediction up or down, by ``weight`` (in the output's units)."""

    feature: str
    direction: str  # "UP" or "DOWN"
    weight: float

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape stored with a prediction."""
        return {"feature": self.feature, "direction": self.direction, "weight": self.weight}


def importances(
    estimator: Any, X: Floats, y: Floats, names: tuple[str, ...], scoring: str, seed: int = 0
) -> dict[str, float]:
    """Permutation importance on held-out rows: how much the score drops without each feature."""
    if len(X) > MAX_IMPORTANCE_ROWS:
        keep = np.random.default_rng(seed).choice(len(X), MAX_IMPORTANCE_ROWS, replace=False)
        X, y = X[keep], y[keep]
    result = permutation_importance(
        estimator, X, y, scoring=scoring, n_repeats=3, random_state=seed, n_jobs=1
    )
    pairs = sorted(
        zip(names, result.importances_mean, strict=True), key=lambda p: -float(p[1])
    )
    return {name: round(float(value), 6) for name, value in pairs}


def local_reasons(
    predict: Predict,
    X: Floats,
    reference: Floats,
    names: tuple[str, ...],
    *,
    candidates: tuple[str, ...] | None = None,
    top: int = 3,
    min_weight: float = 1e-4,
) -> list[list[Reason]]:
    """For each row, the ``top`` features whose actual value moved the prediction the most.

    A feature's weight is the prediction minus the prediction with that feature set to its
    reference value (the training median): positive means the customer's value pushed it up.
    ``candidates`` limits the features tried (each costs one prediction pass over ``X``).
    """
    if len(X) == 0:
        return []
    base = predict(X)
    tried = candidates or names
    deltas = np.zeros((len(X), len(tried)))
    for j, name in enumerate(tried):
        col = names.index(name)
        if np.all(X[:, col] == reference[col]):
            continue
        moved = X.copy()
        moved[:, col] = reference[col]
        deltas[:, j] = base - predict(moved)
    order = np.argsort(-np.abs(deltas), axis=1)[:, :top]
    reasons = []
    for i, cols in enumerate(order):
        row = [
            Reason(tried[j], "UP" if deltas[i, j] > 0 else "DOWN", round(float(deltas[i, j]), 4))
            for j in cols
            if abs(deltas[i, j]) >= min_weight
        ]
        reasons.append(row)
    return reasons
