"""Labels come from the window after the cutoff; the time split never mixes windows."""

from __future__ import annotations

import numpy as np
import pytest

from ml.features import Events, History, empty_events
from ml.labels import NotEnoughData, examples_at, labels_at, plan_split


def _history(days: list[float], customers: list[int]) -> History:
    return History(
        customer_ids=np.array([1, 2, 3]), created_day=np.zeros(3),
        orders=Events(customer=np.array(customers, np.int64), day=np.array(days),
                      amount=np.array([10.0] * len(days))),
        interactions=empty_events(),
    )


def test_labels_use_only_the_horizon_window() -> None:
    h = _history([99.0, 100.0, 150.0, 189.9, 190.0], [0, 1, 1, 2, 0])
    churned, money, orders = labels_at(h, 100.0, 90.0, np.array([0, 1, 2]))
    assert churned.tolist() == [1.0, 0.0, 0.0]  # customer 1's orders at 99 and 190 fall outside
    assert money.tolist() == [0.0, 20.0, 10.0]
    assert orders.tolist() == [0.0, 2.0, 1.0]


def test_training_windows_end_before_validation_starts() -> None:
    h = _history([1.0], [0])
    split = plan_split(h, 1000.0, 90.0)
    assert split.validation == 910.0
    assert all(t + 90.0 <= split.validation for t in split.train)
    assert len(split.train) == 4
    examples = examples_at(h, split.train, 90.0)
    assert set(examples.cutoff) == set(split.train)


def test_short_history_is_not_enough() -> None:
    with pytest.raises(NotEnoughData, match="210 days of history"):
        plan_split(_history([1.0], [0]), 150.0, 90.0)
