"""Expected revenue and order count over the horizon: gradient boosting or linear regression,
whichever did better on the validation window, served when it beats "as much as last period"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, root_mean_squared_error
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from ml.explain import importances
from ml.features import Floats, medians
from ml.labels import Examples, NotEnoughData
from ml.lifetime_features import BtydFeatures

MIN_BUYERS = 10
GRADIENT_BOOSTING, LINEAR = "gradient boosting", "linear regression"


@dataclass
class RevenueModel:
    """Two regressors of one ``method``: money and number of PAID orders."""

    names: tuple[str, ...]
    revenue: Any
    orders: Any
    reference: Floats
    btyd: BtydFeatures | None = None  # the BG/NBD behind its btyd_* features, as of training
    method: str = GRADIENT_BOOSTING

    def predict(self, X: Floats) -> tuple[Floats, Floats]:
        """Expected revenue and expected orders per row (never negative)."""
        revenue: Floats = np.maximum(self.revenue.predict(X), 0.0)
        orders: Floats = np.maximum(self.orders.predict(X), 0.0)
        return revenue, orders


def check(examples: Examples, what: str) -> None:
    """Refuse windows with too few paying customers to learn from or to judge on."""
    buyers = int((examples.revenue > 0).sum())
    if buyers < MIN_BUYERS:
        raise NotEnoughData(
            f"{what} has {buyers} customers with PAID orders in the organization's currency; "
            f"at least {MIN_BUYERS} are needed"
        )


def _booster(seed: int) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        loss="poisson", max_iter=200, learning_rate=0.08, max_leaf_nodes=31,
        min_samples_leaf=20, l2_regularization=1.0, early_stopping=True,
        validation_fraction=0.15, n_iter_no_change=10, random_state=seed,
    )


def _linear() -> Pipeline:
    # an unknown value counts as 0 (no contact yet, no custom value)
    return make_pipeline(FunctionTransformer(np.nan_to_num), LinearRegression())


def fit(examples: Examples, seed: int = 0, method: str = GRADIENT_BOOSTING) -> RevenueModel:
    """Fit both regressors of ``method`` on the training examples."""
    check(examples, "the training window")
    make = _linear if method == LINEAR else (lambda: _booster(seed))
    return RevenueModel(
        examples.names, make().fit(examples.X, examples.revenue),
        make().fit(examples.X, examples.orders), medians(examples.X), method=method,
    )


def fit_linear(examples: Examples) -> RevenueModel:
    """The other candidate: linear regressions on the same features."""
    return fit(examples, method=LINEAR)


def _errors(y: Floats, p: Floats) -> dict[str, float]:
    return {
        "mae": round(float(mean_absolute_error(y, p)), 4),
        "rmse": round(float(root_mean_squared_error(y, p)), 4),
    }


def evaluate(
    model: RevenueModel, linear: RevenueModel, validation: Examples
) -> tuple[dict[str, Any], bool]:
    """Validation errors of both candidates and of the last-period forecast; the candidate
    with the lower RMSE is ``served``, if it beats the last-period forecast.

    The prediction is an expected value, so RMSE decides (MAE favours predicting zero).
    """
    check(validation, "the validation window")
    candidates = {m.method: m for m in (model, linear)}
    predicted = {name: m.predict(validation.X) for name, m in candidates.items()}
    errors = {name: _errors(validation.revenue, p[0]) for name, p in predicted.items()}
    served = min(errors, key=lambda name: errors[name]["rmse"])  # a tie: gradient boosting
    last = _errors(validation.revenue, validation.last_revenue)
    beats = errors[served]["rmse"] < last["rmse"]
    winner = candidates[served]
    metrics: dict[str, Any] = {
        **errors[served],
        "served": served,
        "candidates": errors,
        "won_by": {name: round(e["rmse"] - errors[served]["rmse"], 4)
                   for name, e in errors.items() if name != served},
        "baselines": {"last period": last},
        "orders": {
            **_errors(validation.orders, predicted[served][1]),
            "baseline": {"last period": _errors(validation.orders, validation.last_orders)},
        },
        "mean_revenue": round(float(validation.revenue.mean()), 4),
        "importances": importances(
            winner.revenue, validation.X, validation.revenue, model.names,
            "neg_root_mean_squared_error",
        ),
    }
    return metrics, beats
