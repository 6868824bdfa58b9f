"""Expected revenue and order count over the horizon, against last-period and linear baselines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, root_mean_squared_error

from ml.explain import importances
from ml.features import Floats, medians
from ml.labels import Examples, NotEnoughData
from ml.lifetime_features import BtydFeatures

MIN_BUYERS = 10


@dataclass
class RevenueModel:
    """Two Poisson gradient-boosting regressors: money and number of PAID orders."""

    names: tuple[str, ...]
    revenue: Any
    orders: Any
    reference: Floats
    btyd: BtydFeatures | None = None  # the BG/NBD behind its btyd_* features, as of training

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


def fit(examples: Examples, seed: int = 0) -> RevenueModel:
    """Fit both regressors on the training examples."""
    check(examples, "the training window")
    revenue = _booster(seed).fit(examples.X, examples.revenue)
    orders = _booster(seed).fit(examples.X, examples.orders)
    return RevenueModel(examples.names, revenue, orders, medians(examples.X))


def fit_linear(examples: Examples) -> LinearRegression:
    """The seed's example model: a linear regression of revenue on the features."""
    return LinearRegression().fit(np.nan_to_num(examples.X), examples.revenue)


def _errors(y: Floats, p: Floats) -> dict[str, float]:
    return {
        "mae": round(float(mean_absolute_error(y, p)), 4),
        "rmse": round(float(root_mean_squared_error(y, p)), 4),
    }


def evaluate(
    model: RevenueModel, linear: LinearRegression, validation: Examples
) -> tuple[dict[str, Any], bool]:
    """Validation errors of model and baselines, and whether the model beats both.

    The prediction is an expected value, so RMSE decides (MAE favours predicting zero).
    """
    check(validation, "the validation window")
    revenue, orders = model.predict(validation.X)
    ours = _errors(validation.revenue, revenue)
    last = _errors(validation.revenue, validation.last_revenue)
    lin = _errors(validation.revenue, np.maximum(linear.predict(np.nan_to_num(validation.X)), 0.0))
    beats = ours["rmse"] < min(last["rmse"], lin["rmse"])
    metrics: dict[str, Any] = {
        **ours,
        "baselines": {"last period": last, "linear regression": lin},
        "orders": {
            **_errors(validation.orders, orders),
            "baseline": {"last period": _errors(validation.orders, validation.last_orders)},
        },
        "mean_revenue": round(float(validation.revenue.mean()), 4),
        "importances": importances(
            model.revenue, validation.X, validation.revenue, model.names,
            "neg_root_mean_squared_error",
        ),
    }
    return metrics, beats
