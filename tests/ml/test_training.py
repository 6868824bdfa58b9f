"""A whole training run on plain arrays: outcomes per kind, never a crash on thin data."""

from __future__ import annotations

import numpy as np

from ml.features import History, empty_events
from ml.scoring import ActiveModels, score
from ml.training import ACTIVATED, NOT_ENOUGH_DATA, train_all
from tests.ml.simulate import simulate

END = 20_000.0


def test_simulated_history_activates_churn_and_scores_everyone() -> None:
    history = simulate(500, end_day=END, seed=11).history
    stages: list[str] = []
    outcomes = train_all(history, END, 90.0, progress=lambda f, s: stages.append(s))
    assert stages[:2] == ["fitting purchase models", "building examples"]
    churn = outcomes["CHURN"]
    assert churn.status == ACTIVATED
    assert churn.train_window is not None
    assert churn.train_window[1] == END - 90
    assert churn.validation_window == (END - 90, END)
    assert outcomes["FORECAST"].status == ACTIVATED
    models = ActiveModels(churn=churn.artifact, churn_importances=churn.metrics["importances"])
    scores = score(history, END, models)
    assert len(scores.customer_ids) == history.size
    assert scores.reasons is not None
    assert all(1 <= len(r) <= 3 for r in scores.reasons)
    assert scores.revenue is None


def test_an_empty_organization_gets_not_enough_data_everywhere() -> None:
    history = History(customer_ids=np.zeros(0, np.int64), created_day=np.zeros(0),
                      orders=empty_events(with_amount=True), interactions=empty_events())
    outcomes = train_all(history, END, 90.0)
    assert {o.status for o in outcomes.values()} == {NOT_ENOUGH_DATA}
    assert all(o.message.startswith("not enough data") for o in outcomes.values())
