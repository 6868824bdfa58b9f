"""Segments: lifecycle first, k by silhouette, names from profiles, a refusal when too few."""

from __future__ import annotations

import numpy as np
import pytest

from ml import segments
from ml.features import FeatureTable, features_at
from ml.labels import NotEnoughData
from tests.ml.simulate import simulate


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


PROSPECT = {"recency_days": 300, "orders_365d": 0, "revenue_365d": 0, "interactions_90d": 1,
            "orders_total": 0, "tenure_days": 300}
NEWCOMER = {"recency_days": 10, "orders_365d": 2, "revenue_365d": 300, "interactions_90d": 5,
            "orders_total": 2, "tenure_days": 30}


def test_prospects_and_new_buyers_are_their_own_segments_whatever_the_clusters() -> None:
    table = _table([(60, CHAMPION), (90, SLEEPER), (40, PROSPECT), (10, NEWCOMER)])
    model, metrics, good = segments.fit(table)
    assert good
    assert metrics["segments"] == ["Champions", "Hibernating", "New", "Prospects"]
    shares = {name: p["share"] for name, p in metrics["profiles"].items()}
    assert shares == pytest.approx({"Champions": 0.3, "Hibernating": 0.45, "New": 0.05,
                                    "Prospects": 0.2})
    assigned = model.assign(_table([(1, PROSPECT), (1, CHAMPION), (1, NEWCOMER),
                                    (1, SLEEPER)], seed=2))
    assert assigned == ["Prospects", "Champions", "New", "Hibernating"]
    assert model.assign(_table([(2, PROSPECT)])) == ["Prospects", "Prospects"]


def test_too_few_established_buyers_is_not_enough_data_however_many_prospects() -> None:
    with pytest.raises(NotEnoughData, match="ordered"):
        segments.fit(_table([(10, CHAMPION), (15, SLEEPER), (500, PROSPECT), (50, NEWCOMER)]))


@pytest.mark.parametrize("seed", [0, 1])
def test_a_simulated_organization_gets_segments_of_sensible_sizes_in_order(seed: int) -> None:
    # buyers who stop at random times: a continuum, where the silhouette alone picks two
    # halves ("Champions" were 58 %)
    world = simulate(2_000, end_day=20_000.0, seed=seed)
    table = features_at(world.history, world.end_day)
    model, metrics, good = segments.fit(table)
    assert good
    by_k = metrics["silhouette_by_k"]
    assert metrics["k"] == max(int(k) for k, s in by_k.items() if s >= 0.95 * max(by_k.values()))
    profiles = metrics["profiles"]
    assert max(p["share"] for p in profiles.values()) <= 0.4, profiles
    assert sum(p["share"] for p in profiles.values()) == pytest.approx(1.0, abs=1e-3)
    champions, hibernating = profiles["Champions"], profiles["Hibernating"]
    assert champions["recency_days"] < hibernating["recency_days"]
    assert champions["orders_365d"] > hibernating["orders_365d"]
    names = model.assign(table)
    never = table.column("orders_total") == 0
    assert {n for n, v in zip(names, never, strict=True) if v} == {"Prospects"}
