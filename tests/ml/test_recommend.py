"""The recommender on a simulated population with planted tastes (the demo's catalogue)."""

from __future__ import annotations

import random

import numpy as np

from app import seed_catalogue as catalogue
from ml import recommend
from ml.order_lines import Lines

END = 20_000.0
SKUS = sorted(row[0] for row in catalogue.CATALOGUE)
PRODUCTS = np.arange(1, len(SKUS) + 1, dtype=np.int64)
ID = {sku: i + 1 for i, sku in enumerate(SKUS)}


def simulate(customers: int, seed: int) -> tuple[Lines, dict[int, str]]:
    """Customers who lean towards departments, buy things together and again, over 2 years."""
    rng = random.Random(seed)
    c, p, d = [], [], []
    segments = {}
    for customer in range(1, customers + 1):
        basket = catalogue.basket(rng)
        segments[customer] = basket.departments[0]
        day = END - 730 + rng.random() * 300
        while day < END:
            items, _ = catalogue.order_lines(rng, basket)
            for item in items:
                c.append(customer)
                p.append(ID[item["sku"]])
                d.append(day)
            day += rng.expovariate(1 / 60)
    lines = Lines(np.asarray(c, np.int64), np.asarray(p, np.int64), np.asarray(d, np.float64),
                  np.ones(len(c)))
    return lines, segments


def test_it_finds_planted_tastes_and_beats_every_baseline() -> None:
    lines, segments = simulate(600, seed=3)
    metrics = recommend.evaluate(lines, PRODUCTS, END, 90.0, segments)

    assert recommend.beats_baselines(metrics)
    model = metrics["model"]
    assert isinstance(model, dict)
    assert model["recall_at_10"] > 0.4


def test_recommendations_explain_themselves_and_respect_exclusions() -> None:
    lines, segments = simulate(300, seed=5)
    model = recommend.fit(lines, PRODUCTS, END, segments)
    col = model.column()
    grinder = col[ID["COF-GRIND-1"]]
    picks = recommend.recommend(model, {grinder: 1.0}, "Coffee", exclude={grinder})
    assert grinder not in [s.column for s in picks]
    beans = {col[ID["COF-BEAN-ETH"]], col[ID["COF-BEAN-COL"]]}
    assert beans & {s.column for s in picks[:3]}  # bought with a grinder
    assert picks[0].kind == "BOUGHT_WITH"
    assert picks[0].basis == grinder
    inactive = np.ones(len(PRODUCTS), dtype=bool)
    inactive[list(beans)] = False
    assert not beans & {s.column for s in recommend.recommend(
        model, {grinder: 1.0}, "Coffee", allowed=inactive)}
    cold = recommend.recommend(model, {}, "Outdoor")
    assert {s.kind for s in cold} == {"POPULAR_IN_SEGMENT"}
    assert recommend.recommend(model, {}, None)[0].kind == "POPULAR"
