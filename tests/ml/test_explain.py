"""Per-customer reasons in words: what the value means for this customer."""

from __future__ import annotations

import numpy as np

from ml.explain import local_reasons

NAMES = ("orders_total", "recency_days", "mean_gap_days", "tenure_days")


def _risk(X: np.ndarray) -> np.ndarray:
    # churn risk rises with days since the last order and with the usual gap
    return np.asarray(X[:, 1] / 400 + X[:, 2] / 800 + X[:, 3] / 10_000)


def test_a_customer_who_never_ordered_is_not_told_about_their_last_order() -> None:
    reference = np.array([3.0, 30.0, 40.0, 300.0])
    X = np.array([
        [0.0, 184.0, 184.0, 184.0],  # never ordered: both features fall back to the age
        [4.0, 120.0, 60.0, 500.0],
    ])
    never, buyer = local_reasons(_risk, X, reference, NAMES)
    texts = [r.text for r in never]
    assert texts[0] == "no order yet in 184 days, which raises the churn risk"
    assert not any("last order" in t or "between orders" in t for t in texts)
    assert [r.feature for r in never].count("recency_days") + [
        r.feature for r in never].count("mean_gap_days") == 1  # said once
    assert [r.text for r in buyer][:2] == [
        "days since the last order: 120, which raises the churn risk",
        "usual days between orders: 60, which raises the churn risk",
    ]


def test_a_custom_prediction_names_its_own_outcome_and_words_its_own_features() -> None:
    reference = np.array([3.0, 30.0, 40.0, 300.0])
    X = np.array([[0.0, 184.0, 184.0, 184.0], [4.0, 120.0, 60.0, 500.0]])
    never, buyer = local_reasons(
        _risk, X, reference, NAMES, about="refund_risk",
        outcome="the chance that they ask for a refund within 90 days",
        describe=lambda feature, value: "a long time" if feature == "mean_gap_days" else None,
    )
    assert never[0].text == ("no order yet in 184 days, which raises the chance that they ask"
                             " for a refund within 90 days")
    assert {r.about for r in never + buyer} == {"refund_risk"}
    assert [r.text for r in buyer][:2] == [
        "days since the last order: 120, which raises the chance that they ask for a refund"
        " within 90 days",
        "a long time, which raises the chance that they ask for a refund within 90 days",
    ]
