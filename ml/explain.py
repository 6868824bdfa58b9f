"""Why a model says what it says: global importances and per-customer reasons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.inspection import permutation_importance

from ml.features import Floats

Predict = Callable[[Floats], Floats]
MAX_IMPORTANCE_ROWS = 2_500  # permutation importance ranks features; more rows change little
REPEATS = 2  # shuffles per feature (each a prediction pass over the rows)


CHURN_RISK, EXPECTED_REVENUE = "CHURN_RISK", "EXPECTED_REVENUE"
LABELS = {
    "recency_days": "days since the last order",
    "tenure_days": "days as a customer",
    "orders_total": "orders so far",
    "revenue_total": "money spent so far",
    "avg_order_value": "average order value",
    "mean_gap_days": "usual days between orders",
    "order_trend_90d": "change in orders, last 90 days against the 90 before",
    "days_since_interaction": "days since the last contact",
    "days_since_inbound": "days since they last got in touch",
    "has_ordered": "whether they have ordered",
    "btyd_expected_orders": "orders their buying rhythm predicts",
    "btyd_p_alive": "chance they are still a customer",
}


# for a customer who never ordered these fall back to the days since they became one
SINCE_JOINING = ("recency_days", "mean_gap_days")


def label(feature: str) -> str:
    """A feature's name in words (``orders_90d`` -> ``orders in the last 90 days``)."""
    if feature in LABELS:
        return LABELS[feature]
    head, _, days = feature.rpartition("_")
    if days.endswith("d") and days[:-1].isdigit():
        return f"{head.replace('_', ' ')} in the last {days[:-1]} days"
    return feature.replace("_", " ")


@dataclass(frozen=True)
class Reason:
    """One feature that pushed a prediction up or down, by ``weight`` (in the output's units).

    ``about`` names the prediction it explains; ``text`` says it in a salesperson's words.
    """

    feature: str
    direction: str  # "UP" or "DOWN"
    weight: float
    about: str
    text: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape stored with a prediction."""
        return {"feature": self.feature, "direction": self.direction, "weight": self.weight,
                "about": self.about, "text": self.text}


def importances(
    estimator: Any, X: Floats, y: Floats, names: tuple[str, ...], scoring: str, seed: int = 0
) -> dict[str, float]:
    """Permutation importance on held-out rows: how much the score drops without each feature."""
    if len(X) > MAX_IMPORTANCE_ROWS:
        keep = np.random.default_rng(seed).choice(len(X), MAX_IMPORTANCE_ROWS, replace=False)
        X, y = X[keep], y[keep]
    result = permutation_importance(
        estimator, X, y, scoring=scoring, n_repeats=REPEATS, random_state=seed, n_jobs=1
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
    about: str = CHURN_RISK,
    describe: Callable[[str, float], str | None] | None = None,
    outcome: str | None = None,
) -> list[list[Reason]]:
    """For each row, the ``top`` features whose actual value moved the prediction the most.

    A feature's weight is the prediction minus the prediction with that feature set to its
    reference value (the training median): positive means the customer's value pushed it up.
    ``candidates`` limits the features tried (each costs one prediction pass over ``X``);
    ``describe`` words a feature's value where ``label`` cannot (custom fields); ``outcome``
    names what a reason raises or lowers (by default the churn risk or the expected revenue).
    """
    if len(X) == 0:
        return []
    base = predict(X)
    tried = candidates or names
    columns = [names.index(name) for name in tried]
    deltas = np.zeros((len(X), len(tried)))
    for j, col in enumerate(columns):
        # rows already at the reference value would not move: predict only the others
        changed = np.flatnonzero(X[:, col] != reference[col])
        if len(changed) == 0:
            continue
        moved = X[changed]
        moved[:, col] = reference[col]
        deltas[changed, j] = base[changed] - predict(moved)
    order = np.argsort(-np.abs(deltas), axis=1)[:, :top]
    weights = np.take_along_axis(deltas, order, axis=1)
    values = X[:, columns][np.arange(len(X))[:, None], order]
    strong = np.abs(weights) >= min_weight
    bought = (X[:, names.index("orders_total")] > 0 if "orders_total" in names
              else np.ones(len(X), dtype=bool)).tolist()
    noun = outcome or ("the churn risk" if about == CHURN_RISK else "the expected revenue")
    effects = {True: f", which raises {noun}", False: f", which lowers {noun}"}
    labels = [label(name) for name in tried]
    joining = [name in SINCE_JOINING for name in tried]
    reasons = []
    for picked, weight, value, keep, buyer in zip(
        order.tolist(), weights.tolist(), values.tolist(), strong.tolist(), bought, strict=True
    ):
        found: list[Reason] = []
        said_joining = False
        for j, w, v, k in zip(picked, weight, value, keep, strict=True):
            if not k:
                continue
            if buyer or not joining[j]:
                what = (describe(tried[j], v) if describe else None) or \
                    f"{labels[j]}: {_shown(v)}"
            elif said_joining:  # said once is enough
                continue
            else:
                what, said_joining = f"no order yet in {v:,.0f} days", True
            found.append(Reason(tried[j], "UP" if w > 0 else "DOWN", round(w, 4), about,
                                what + effects[w > 0]))
        reasons.append(found)
    return reasons


def _shown(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.2g}"
