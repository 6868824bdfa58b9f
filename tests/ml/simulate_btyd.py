"""BG/NBD populations with known parameters: purchase times after each first purchase."""

from __future__ import annotations

import numpy as np

from ml.btyd import BgNbd, BgNbdEach
from ml.btyd_covariates import CovariateBgNbd
from ml.btyd_seasons import Season
from ml.features import Events, Floats, History, Ints

CDNOW_DAYS = BgNbd(r=0.25, alpha=33.0, a=0.75, b=2.2)  # CDNOW's estimates, roughly, in days


def repeat_purchases(
    params: BgNbd | BgNbdEach, until: Floats, seed: int = 0
) -> tuple[Ints, Floats]:
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


def as_history(customer: np.ndarray, day: Floats, amount: Floats, size: int) -> History:
    """One PAID order per (customer, day) entry, mid-day; customers exist from their first."""
    created = np.full(size, np.inf)
    np.minimum.at(created, customer, day)
    no_events = Events(customer=np.zeros(0, np.int64), day=np.zeros(0),
                       kind=np.zeros(0, np.int64), inbound=np.zeros(0, bool))
    return History(
        customer_ids=np.arange(size, dtype=np.int64), created_day=created,
        orders=Events(customer=customer.astype(np.int64), day=day + 0.5, amount=amount),
        interactions=no_events, currency="USD",
    )


def first_values(customers: int, seed: int = 0) -> Floats:
    """First-order values whose log is normal: mean log1p 3.5, standard deviation 0.6."""
    return np.asarray(np.expm1(np.random.default_rng(seed + 1).normal(3.5, 0.6, customers)))


def simulated(
    customers: int, *, end: float, joining: float = 90.0, truth: BgNbd = CDNOW_DAYS, seed: int = 0,
    effects: tuple[float, float, float] | None = None,
) -> History:
    """BG/NBD buyers whose first purchase falls in days [0, joining), followed until ``end``;
    order values Gamma(6, mean 35). With ``effects`` (g_r, g_a, g_b) the first order's value
    (``first_values``) sets each customer's parameters as ``ml.btyd_covariates`` assumes."""
    rng = np.random.default_rng(seed)
    first = np.floor(rng.uniform(0, joining, customers))
    value = first_values(customers, seed)
    params: BgNbd | BgNbdEach = truth
    if effects is not None:
        params = CovariateBgNbd(truth, *effects, center=3.5, scale=0.6).each(value)
    customer, since = repeat_purchases(params, end - first, seed)
    day = np.floor(first[customer] + since)
    ids = np.concatenate([np.arange(customers), customer])
    days = np.concatenate([first, day])
    amounts = np.concatenate([value, rng.gamma(6.0, 35.0 / 6.0, len(customer))])
    keys, keep = np.unique(ids * 10_000 + days, return_index=True)  # one order per customer-day
    ids, days = (keys // 10_000).astype(np.int64), keys % 10_000
    return as_history(ids, days, amounts[keep], customers)


JANUARY_2024 = 19_723.0  # days since 1970-01-01


def seasonal(
    customers: int, *, season: Season, truth: BgNbd, years: float = 2.0,
    start: float = JANUARY_2024, joining: float = 365.0, seed: int = 0,
) -> tuple[History, float]:
    """BG/NBD buyers whose rate follows ``season`` (``ml.btyd_seasons``), first purchases in
    the first ``joining`` days from ``start``, followed for ``years``; and the last day.

    Purchases are drawn in seasonal time, where the process is plain BG/NBD, and mapped back
    to calendar days through the season's clock."""
    rng = np.random.default_rng(seed)
    end = start + 365.25 * years
    first = np.floor(start + rng.uniform(0, joining, customers))
    grid = np.arange(start, end + 1.0, 0.05)
    clock = season.elapsed(start, grid)  # seasonal time since ``start`` on a fine grid
    offset = season.elapsed(start, first)
    customer, since = repeat_purchases(truth, season.elapsed(first, end), seed)
    day = np.floor(np.interp(offset[customer] + since, clock, grid))
    ids = np.concatenate([np.arange(customers), customer])
    days = np.concatenate([first, day]) - start
    amounts = rng.gamma(6.0, 35.0 / 6.0, len(ids))
    keys, keep = np.unique(ids * 10_000 + days, return_index=True)  # one order per customer-day
    ids, days = (keys // 10_000).astype(np.int64), keys % 10_000 + start
    return as_history(ids, days, amounts[keep], customers), end
