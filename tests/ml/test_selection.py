"""Choosing between the supervised and the buy-till-you-die model, and saying by how much."""

from __future__ import annotations

from ml.outcome import ACTIVATED, NOT_ACTIVATED, NOT_ENOUGH_DATA, Outcome
from ml.selection import choose


def _lifetime(kind: str, score: float, window: float = 90.0) -> Outcome:
    metric = "brier" if kind == "CHURN" else "rmse"
    return Outcome(kind, ACTIVATED, "bg/nbd", {metric: score, "served": "BG/NBD P(alive)",
                                               "lifetime": {"window_days": window}})


def test_the_better_model_on_the_same_window_is_served_with_its_margin() -> None:
    supervised = Outcome("CHURN", ACTIVATED, "boosting", {"brier": 0.12})
    chosen = choose(supervised, _lifetime("CHURN", 0.10), 90.0)
    assert chosen.metrics["served"] == "BG/NBD P(alive)"
    assert chosen.metrics["selection"]["won_by"] == 0.02
    assert chosen.metrics["selection"]["compared_with"] == "gradient boosting"
    assert "beat gradient boosting by 0.02 brier" in chosen.message
    supervised = Outcome("REVENUE", ACTIVATED, "boosting", {"rmse": 10.0})
    chosen = choose(supervised, _lifetime("REVENUE", 12.0), 90.0)
    assert chosen.metrics["served"] == "gradient boosting"
    assert chosen.metrics["selection"]["won_by"] == 2.0


def test_without_a_common_window_or_a_supervised_model() -> None:
    supervised = Outcome("CHURN", ACTIVATED, "boosting", {"brier": 0.12})
    kept = choose(supervised, _lifetime("CHURN", 0.01, window=45.0), 90.0)
    assert kept.metrics["served"] == "gradient boosting"
    assert kept.metrics["selection"]["won_by"] is None
    short = Outcome("CHURN", NOT_ENOUGH_DATA, "not enough data: too short")
    assert choose(short, _lifetime("CHURN", 0.2), 273.0).status == ACTIVATED
    lost = Outcome("CHURN", NOT_ACTIVATED, "did not beat its baseline", {"brier": 0.3})
    neither = Outcome("CHURN", NOT_ACTIVATED, "no better than the churn rate",
                      {"served": "BG/NBD P(alive)"})
    assert choose(lost, neither, 90.0) is lost
