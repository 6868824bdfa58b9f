"""On a population where some customers stop buying, the churn model ranks churners clearly
better than chance and than the recency rule, and it is calibrated at least as well."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ml import churn, revenue
from ml.labels import examples_at, plan_split
from tests.ml.simulate import simulate

END = 20_000.0


@pytest.fixture(scope="module")
def split_examples():  # type: ignore[no-untyped-def]
    history = simulate(800, end_day=END, seed=7).history
    split = plan_split(history, END, 90.0)
    train = examples_at(history, split.train, 90.0)
    return train, examples_at(history, (split.validation,), 90.0, train.names)


def test_churn_model_beats_chance_and_the_recency_rule(split_examples) -> None:
    train, validation = split_examples
    model = churn.fit(train)
    metrics, beats = churn.evaluate(model, churn.fit_baseline(train), validation)
    assert beats
    assert metrics["roc_auc"] > 0.8
    assert metrics["roc_auc"] > metrics["baseline"]["roc_auc"] + 0.01
    assert metrics["brier"] < metrics["baseline"]["brier"]
    assert set(metrics["importances"]) == set(train.names)
    proba = model.predict(validation.X)
    assert ((proba >= 0) & (proba <= 1)).all()


def test_churn_model_learns_nothing_from_noise(split_examples) -> None:
    train, validation = split_examples
    rng = np.random.default_rng(0)
    noise = type(train)(train.names, rng.normal(size=train.X.shape), *(
        getattr(train, k) for k in ("churned", "revenue", "orders", "last_revenue",
                                    "last_orders", "cutoff")))
    model = churn.fit(noise)
    auc = roc_auc_score(validation.churned, model.predict(rng.normal(size=validation.X.shape)))
    assert abs(auc - 0.5) < 0.08


def test_revenue_model_is_compared_with_both_baselines(split_examples) -> None:
    train, validation = split_examples
    model = revenue.fit(train)
    metrics, beats = revenue.evaluate(model, revenue.fit_linear(train), validation)
    assert set(metrics["baselines"]) == {"last period", "linear regression"}
    assert beats == (metrics["rmse"] < min(b["rmse"] for b in metrics["baselines"].values()))
    expected, orders = model.predict(validation.X)
    assert (expected >= 0).all()
    assert (orders >= 0).all()
