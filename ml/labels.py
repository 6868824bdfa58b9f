"""Labels from the window after a cutoff, and the time split that turns history into examples.

Training examples come from several past cutoffs whose label windows end before the validation
cutoff; validation uses the latest fully observed window, ``[as_of - H, as_of)``. Rows are never
split at random across time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.features import Floats, History, Ints, align, features_at, window_totals
from ml.lifetime_features import fitted_on
from ml.rfm import rfm_at

MIN_HISTORY_DAYS = 30  # a cutoff needs this much history before it
TRAIN_CUTOFFS = 4


class NotEnoughData(Exception):
    """The history cannot support a model (too short, too few customers or no variety)."""


@dataclass(frozen=True)
class Examples:
    """Feature rows with their labels and last-period baselines, from one or more cutoffs."""

    names: tuple[str, ...]
    X: Floats
    churned: Floats  # 1.0 = no PAID order in the horizon
    revenue: Floats  # PAID money in the organization's currency in the horizon
    orders: Floats  # PAID orders in the horizon
    last_revenue: Floats  # the same quantities over the H days before the cutoff
    last_orders: Floats
    cutoff: Floats

    def __len__(self) -> int:
        return len(self.churned)

    def sample(self, limit: int, seed: int = 0) -> Examples:
        """At most ``limit`` rows, drawn without replacement (deterministic per seed)."""
        if len(self) <= limit:
            return self
        keep = np.sort(np.random.default_rng(seed).choice(len(self), limit, replace=False))
        return Examples(
            self.names, self.X[keep], self.churned[keep], self.revenue[keep], self.orders[keep],
            self.last_revenue[keep], self.last_orders[keep], self.cutoff[keep],
        )


@dataclass(frozen=True)
class TimeSplit:
    """Cutoffs for training and validation, in days since the epoch."""

    train: tuple[float, ...]
    validation: float
    as_of: float
    horizon: float


def plan_split(history: History, as_of: float, horizon: float) -> TimeSplit:
    """Training cutoffs every H/2 days before the validation window; at least one is needed."""
    validation = as_of - horizon
    starts = [history.created_day.min(initial=np.inf)]
    for events in (history.orders, history.interactions):
        starts.append(events.day.min(initial=np.inf))
    earliest = min(starts) + MIN_HISTORY_DAYS
    step = max(horizon / 2, 7.0)
    train = tuple(
        t for t in (validation - horizon - i * step for i in range(TRAIN_CUTOFFS)) if t >= earliest
    )
    if not train:
        span = as_of - min(starts) if np.isfinite(min(starts)) else 0.0
        raise NotEnoughData(
            f"needs at least {2 * horizon + MIN_HISTORY_DAYS:.0f} days of history before the "
            f"as-of date for a {horizon:.0f}-day horizon; it has {max(span, 0):.0f}"
        )
    return TimeSplit(train=train, validation=validation, as_of=as_of, horizon=horizon)


def labels_at(
    history: History, cutoff: float, horizon: float, rows: Ints
) -> tuple[Floats, Floats, Floats]:
    """Churned flag, revenue and order count of ``rows`` in ``[cutoff, cutoff + horizon)``."""
    counts, money = window_totals(history, cutoff, cutoff + horizon)
    return (counts[rows] == 0).astype(np.float64), money[rows], counts[rows]


def examples_at(
    history: History, cutoffs: tuple[float, ...], horizon: float,
    names: tuple[str, ...] | None = None,
) -> Examples:
    """Examples from each cutoff: features before it, labels from the horizon after it."""
    parts = []
    for cutoff in cutoffs:
        table = features_at(history, cutoff)
        rfm = rfm_at(history, cutoff, table.index)  # for the BG/NBD's fit and its columns
        table = fitted_on(rfm, horizon).extend(history, table, rfm)
        if names is not None:
            table = align(table, names)
        names = table.names
        churned, revenue, orders = labels_at(history, cutoff, horizon, table.index)
        last_orders, last_revenue = window_totals(history, cutoff - horizon, cutoff)
        parts.append((
            table.values, churned, revenue, orders, last_revenue[table.index],
            last_orders[table.index], np.full(len(table.index), cutoff),
        ))
    assert names is not None
    stacked = [np.concatenate([p[i] for p in parts]) for i in range(7)]
    return Examples(names, *stacked)
