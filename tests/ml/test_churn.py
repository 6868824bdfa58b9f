"""On a population where some customers stop buying, the churn model ranks churners clearly
better than chance and than the recency rule, and it is calibrated at least as well."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ml import churn, registry, revenue, training
from ml.explain import EXPECTED_REVENUE, local_reasons
from ml.labels import Examples, TimeSplit, examples_at, plan_split
from ml.outcome import ACTIVATED
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


def test_revenue_serves_the_better_candidate_when_it_beats_last_period(split_examples) -> None:
    train, validation = split_examples
    model = revenue.fit(train)
    metrics, beats = revenue.evaluate(model, revenue.fit_linear(train), validation)
    candidates = metrics["candidates"]
    assert set(candidates) == {revenue.GRADIENT_BOOSTING, revenue.LINEAR}
    assert metrics["rmse"] == candidates[metrics["served"]]["rmse"]
    assert metrics["rmse"] == min(c["rmse"] for c in candidates.values())
    assert set(metrics["baselines"]) == {"last period"}
    assert beats == (metrics["rmse"] < metrics["baselines"]["last period"]["rmse"])
    expected, orders = model.predict(validation.X)
    assert (expected >= 0).all()
    assert (orders >= 0).all()


def test_where_revenue_is_linear_in_the_features_linear_regression_is_served() -> None:
    # few customers, revenue a straight line of two features plus noise: the boosted trees
    # cannot beat the line, so the line is served, refitted, pickled and explained
    rng = np.random.default_rng(3)

    def examples(n: int, cutoff: float) -> Examples:
        X = rng.uniform(0, 10, size=(n, 3))
        money = np.maximum(20 * X[:, 0] + 5 * X[:, 1] + rng.normal(0, 5, n), 0.0)
        orders = np.round(money / 40)
        return Examples(("a", "b", "noise"), X, (orders == 0).astype(float), money, orders,
                        np.full(n, money.mean()), np.full(n, orders.mean()), np.full(n, cutoff))

    train, validation = examples(300, 100.0), examples(200, 190.0)
    split = TimeSplit((100.0,), 190.0, 280.0, 90.0)
    outcome = training._supervised(
        "REVENUE", revenue, revenue.fit_linear, train, validation, split, 0, None)
    assert outcome.status == ACTIVATED, outcome.metrics
    assert outcome.metrics["served"] == revenue.LINEAR
    assert outcome.metrics["won_by"][revenue.GRADIENT_BOOSTING] > 0
    model = registry.load(*registry.dump(outcome.artifact))  # as stored and served
    assert model.method == revenue.LINEAR
    assert model.revenue.predict(np.array([[1.0, 2.0, 7.0]]))[0] == pytest.approx(30, abs=3)
    reasons = local_reasons(model.revenue.predict, validation.X[:5], model.reference,
                            model.names, about=EXPECTED_REVENUE)
    assert all(r.feature != "noise" for found in reasons for r in found[:1])
