"""Segments: k by silhouette, names from profiles, and a refusal when customers are too few."""

from __future__ import annotations

import numpy as np
import pytest

from ml import segments
from ml.features import FeatureTable
from ml.labels import NotEnoughData


def _table(groups: list[tuple[int, dict[str, float]]], seed: int = 0) -> FeatureTable:
    rng = np.random.default_rng(seed)
    names = (*segments.PROFILE,)
    rows = []
    for size, centre in groups:
        for _ in range(size):
            rows.append([centre[n] * rng.uniform(0.9, 1.1) for n in names])
    values = np.array(rows)
    return FeatureTable(0.0, np.arange(len(values)), names, values)


CHAMPION = {"recency_days": 5, "orders_365d": 30, "revenue_365d": 3000, "interactions_90d": 12,
            "orders_total": 60, "tenure_days": 700}
SLEEPER = {"recency_days": 400, "orders_365d": 0.5, "revenue_365d": 20, "interactions_90d": 0.2,
           "orders_total": 2, "tenure_days": 700}


def test_clear_groups_are_found_and_named() -> None:
    model, metrics, good = segments.fit(_table([(60, CHAMPION), (90, SLEEPER)]))
    assert good
    assert metrics["k"] == 2
    assert sorted(model.names) == ["Champions", "Hibernating"]
    assigned = model.assign(_table([(1, CHAMPION), (1, SLEEPER)], seed=1))
    assert assigned == ["Champions", "Hibernating"]
    assert metrics["profiles"]["Champions"]["share"] == pytest.approx(0.4)


def test_too_few_customers_is_not_enough_data() -> None:
    with pytest.raises(NotEnoughData):
        segments.fit(_table([(5, CHAMPION), (5, SLEEPER)]))
