"""Synthetic histories with known structure, for tests and benchmarks.

Each customer buys as a Poisson process at a personal rate until a hidden "stop day" (an
exponential lifetime), talks to the company less in the 60 days before it and only hears from
sales afterwards. So churn is predictable, but not from recency alone: a long pause means more
for a frequent buyer than for a rare one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.features import CHANNELS, Events, Floats, History, Ints

OTHER_CURRENCY_SHARE = 0.05


@dataclass(frozen=True)
class Simulation:
    """A generated history and the truth behind it."""

    history: History
    stop_day: Floats  # when each customer stops buying (may lie past the end)
    end_day: float


def _process(
    rng: np.random.Generator, rate: Floats, start: Floats, end: Floats
) -> tuple[Ints, Floats]:
    """Events of a Poisson process per customer on ``[start, end)``."""
    span = np.maximum(end - start, 0.0)
    counts = rng.poisson(rate * span)
    customer = np.repeat(np.arange(len(rate)), counts).astype(np.int64)
    day = start[customer] + rng.random(len(customer)) * span[customer]
    return customer, day


def _interactions(
    rng: np.random.Generator, rate: Floats, created: Floats, stop: Floats, end: float
) -> Events:
    ends = np.full(len(rate), end)
    engaged = _process(rng, rate, created, np.minimum(stop - 60, ends))
    fading = _process(rng, rate * 0.25, np.maximum(stop - 60, created), np.minimum(stop, ends))
    chased = _process(rng, np.full(len(rate), 1 / 90), np.minimum(stop, ends), ends)
    customer = np.concatenate([engaged[0], fading[0], chased[0]])
    day = np.concatenate([engaged[1], fading[1], chased[1]])
    inbound = np.concatenate([
        rng.random(len(engaged[0])) < 0.6, rng.random(len(fading[0])) < 0.3,
        np.zeros(len(chased[0]), bool),
    ])
    kind = rng.integers(0, len(CHANNELS), len(customer)).astype(np.int64)
    return Events(customer=customer, day=day, kind=kind, inbound=inbound)


def simulate(
    customers: int, *, end_day: float, years: float = 2.0, seed: int = 0,
    mean_gap_days: float = 45.0, mean_lifetime_days: float = 365.0, currency: str = "EUR",
) -> Simulation:
    """A history of ``customers`` customers over ``years`` years up to ``end_day``."""
    rng = np.random.default_rng(seed)
    start_day = end_day - 365.0 * years
    created = start_day + rng.random(customers) * (end_day - start_day - 30)
    rate = np.exp(rng.normal(np.log(1 / mean_gap_days), 0.7, customers))
    stop = created + rng.exponential(mean_lifetime_days, customers)
    customer, day = _process(rng, rate, created, np.minimum(stop, end_day))
    spend = rng.normal(4.0, 0.5, customers)
    amount = np.round(np.exp(spend[customer] + rng.normal(0, 0.4, len(customer))), 2).astype(
        np.float64
    )
    amount[rng.random(len(customer)) < OTHER_CURRENCY_SHARE] = np.nan
    orders = Events(customer=customer, day=day, amount=amount)
    history = History(
        customer_ids=np.arange(1, customers + 1, dtype=np.int64), created_day=created,
        orders=orders, interactions=_interactions(rng, rate * 0.8 + 1 / 60, created, stop,
                                                  end_day),
        currency=currency,
    )
    return Simulation(history=history, stop_day=stop, end_day=end_day)
