"""BG/NBD populations with known parameters: purchase times after each first purchase."""

from __future__ import annotations

import numpy as np

from ml.btyd import BgNbd
from ml.features import Floats, Ints


def repeat_purchases(params: BgNbd, until: Floats, seed: int = 0) -> tuple[Ints, Floats]:
    """(customer, time since the first purchase) of every repeat purchase before ``until``."""
    rng = np.random.default_rng(seed)
    n = len(until)
    rate = rng.gamma(params.r, 1.0 / params.alpha, n)
    dropout = rng.beta(params.a, params.b, n)
    clock = np.zeros(n)
    alive = np.ones(n, bool)
    customers, times = [], []
    while alive.any():
        idx = np.flatnonzero(alive)
        clock[idx] += rng.exponential(1.0 / rate[idx])
        bought = clock[idx] < until[idx]
        alive[idx[~bought]] = False
        buyers = idx[bought]
        customers.append(buyers)
        times.append(clock[buyers].copy())
        alive[buyers[rng.random(len(buyers)) < dropout[buyers]]] = False
    return np.concatenate(customers).astype(np.int64), np.concatenate(times)


def summaries(customer: Ints, time: Floats, T: Floats) -> tuple[Floats, Floats]:
    """Repeat purchases ``x`` and the last one's time ``t_x`` of each customer before ``T``."""
    seen = time < T[customer]
    x = np.bincount(customer[seen], minlength=len(T)).astype(np.float64)
    t_x = np.zeros(len(T))
    np.maximum.at(t_x, customer[seen], time[seen])
    return x, t_x


def simulate(params: BgNbd, T: Floats, seed: int = 0) -> tuple[Floats, Floats]:
    """``x`` and ``t_x`` of customers observed for ``T`` after their first purchase."""
    return summaries(*repeat_purchases(params, T, seed), T)
