"""Which model answers CHURN and REVENUE: the supervised one or the buy-till-you-die one.

The buy-till-you-die model needs no labelled window, so it serves organizations whose history
is too short for the supervised models, at any horizon. Where both exist and were validated on
the same held-out window (the last ``horizon`` days), the better one on that window is served:
churn by Brier score (calibration and ranking at once), revenue by RMSE. The registry's metrics
record the candidates, which one won and by how much.
"""

from __future__ import annotations

from typing import Any

from ml.lifetime import LifetimeModel
from ml.outcome import ACTIVATED, NOT_ACTIVATED, NOT_ENOUGH_DATA, Outcome

SUPERVISED = "gradient boosting"
LIFETIME_FEATURES = ("repeat_orders", "days_first_to_last_order", "days_since_first_order",
                     "avg_repeat_order_value")
Fitted = tuple[LifetimeModel, dict[str, Any], bool]


def lifetime_outcomes(fitted: Fitted | str, as_of: float) -> dict[str, Outcome]:
    """CHURN and REVENUE outcomes of the buy-till-you-die model (or why there are none)."""
    if isinstance(fitted, str):
        return {kind: Outcome(kind, NOT_ENOUGH_DATA, fitted) for kind in ("CHURN", "REVENUE")}
    model, metrics, served = fitted
    window = metrics["window_days"]
    n = metrics["validation_customers"]

    def outcome(kind: str, status: str, message: str, kind_metrics: dict[str, Any]) -> Outcome:
        return Outcome(kind, status, message, kind_metrics, model, LIFETIME_FEATURES, n, n,
                       (as_of - 3 * window, as_of - window), (as_of - window, as_of))

    churn = metrics["churn"]
    churn_ok = bool(churn) and churn["brier"] < churn["baseline"]["brier"]
    name = f"{model.method} P(alive)"
    return {
        "CHURN": outcome(
            "CHURN", ACTIVATED if churn_ok else NOT_ACTIVATED,
            f"{name}: " + ("calibrated better than the churn rate on the validation window"
                           if churn_ok else "no better than the churn rate"),
            {**churn, "served": name, "lifetime": metrics},
        ),
        "REVENUE": outcome(
            "REVENUE", ACTIVATED if served else NOT_ACTIVATED,
            f"{model.method} with Gamma-Gamma spend: " + (
                _revenue_verdict(metrics) if served else "did not beat the last-period forecast"),
            {**metrics["revenue"], "orders": metrics["candidates"][model.method],
             "served": model.method, "lifetime": metrics},
        ),
    }


def _revenue_verdict(metrics: dict[str, Any]) -> str:
    """What the served count model beat on the validation window."""
    if metrics["method"] == "BG/NBD":
        return ("no candidate beat BG/NBD on RMSE and on MAE and RMSE together; it beat the "
                "last-period forecast on the validation window")
    return ("beat BG/NBD on RMSE and on MAE and RMSE together, and the last-period forecast, "
            "on the validation window")


def _score(kind: str, metrics: dict[str, Any]) -> float:
    return float(metrics["brier"] if kind == "CHURN" else metrics["rmse"])


def choose(supervised: Outcome, lifetime: Outcome, horizon: float) -> Outcome:
    """The outcome to serve for one kind, its metrics saying what it was compared with."""
    kind = supervised.kind
    if supervised.status != ACTIVATED:
        winner = lifetime if lifetime.status == ACTIVATED else (
            supervised if supervised.status != NOT_ENOUGH_DATA else lifetime)
        loser = supervised if winner is lifetime else lifetime
        return _recorded(winner, loser, None)
    same_window = (
        lifetime.status == ACTIVATED
        and lifetime.metrics["lifetime"]["window_days"] == round(horizon, 1)
    )
    if not same_window:
        return _recorded(supervised, lifetime, None)
    ours, theirs = _score(kind, supervised.metrics), _score(kind, lifetime.metrics)
    if theirs < ours:
        return _recorded(lifetime, supervised, round(ours - theirs, 4))
    return _recorded(supervised, lifetime, round(theirs - ours, 4))


def _recorded(winner: Outcome, other: Outcome, margin: float | None) -> Outcome:
    metric = "brier" if winner.kind == "CHURN" else "rmse"
    served = winner.metrics.get("served", SUPERVISED)
    alternative = other.metrics.get("served", SUPERVISED)
    winner.metrics = {
        **winner.metrics, "served": served,
        "selection": {
            "served": served, "compared_with": alternative,
            "alternative_status": other.status, "alternative_message": other.message,
            "metric": metric, "won_by": margin,
        },
    }
    if margin is not None:
        winner.message += f"; beat {alternative} by {margin} {metric} on the same window"
    return winner
