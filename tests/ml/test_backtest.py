"""A backtest's report compares predictions with the window after the as-of date only."""

from __future__ import annotations

import numpy as np
import pytest

from ml.backtest import report
from ml.features import Events, History, empty_events
from ml.scoring import Scores


def _history() -> History:
    # customer 0 buys twice after day 100, customer 1 once, customer 2 never; day 99 is before
    return History(
        customer_ids=np.array([10, 11, 12], np.int64), created_day=np.zeros(3),
        orders=Events(customer=np.array([0, 0, 1, 2], np.int64),
                      day=np.array([101.0, 130.0, 150.0, 99.0]),
                      amount=np.array([10.0, 30.0, 5.0, 100.0])),
        interactions=empty_events(),
    )


def test_the_report_scores_each_kind_on_what_happened_after_the_date() -> None:
    scores = Scores(
        customer_ids=np.array([10, 11, 12], np.int64), churn=np.array([0.1, 0.5, 0.9]),
        revenue=np.array([30.0, 10.0, 1.0]), orders=np.array([1.5, 1.0, 0.2]),
        segments=None, reasons=None,
    )
    out = report(scores, _history(), 100.0, 90.0, until=1000.0)
    churn, revenue = out["CHURN"], out["REVENUE"]
    assert churn["observed_days"] == 90.0
    assert churn["churn_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert churn["roc_auc"] == 1.0
    assert churn["brier"] == pytest.approx((0.01 + 0.25 + 0.01) / 3, abs=1e-4)
    assert revenue["revenue"]["actual_total"] == 45.0
    assert revenue["orders"]["actual_total"] == 3.0
    assert revenue["orders"]["mae"] == pytest.approx((0.5 + 0.0 + 0.2) / 3, abs=1e-4)
    assert revenue["lift"][0]["share"] == pytest.approx(40 / 45, abs=1e-4)


def test_a_horizon_not_yet_over_is_reported_as_far_as_seen() -> None:
    scores = Scores(customer_ids=np.array([10, 99], np.int64), churn=np.array([0.2, 0.3]),
                    revenue=None, orders=None, segments=None, reasons=None)
    out = report(scores, _history(), 100.0, 90.0, until=120.0)
    assert out["CHURN"]["observed_days"] == 20.0
    assert out["CHURN"]["customers"] == 1  # the unknown customer is left out
    assert "REVENUE" not in out
