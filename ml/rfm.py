"""Recency-frequency-monetary summaries of PAID orders before a cutoff, as the BTYD models want.

``x`` counts repeat orders (all but the first), ``t_x`` is the day of the last order counted
from the first, ``T`` the cutoff counted from the first order; ``spend`` is the average value
of the repeat orders in the organization's currency (NaN without one), ``first_value`` that of
the first order (NaN when it has none in that currency). Customers who never ordered have
``T`` = 0 and ``bought`` False.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ml.btyd_seasons import phase_counts
from ml.features import Floats, History, Ints


@dataclass(frozen=True)
class Rfm:
    """One summary per customer row (``index`` into the history)."""

    index: Ints
    bought: npt.NDArray[np.bool_]
    x: Floats
    t_x: Floats
    T: Floats
    spend: Floats
    priced: Floats  # how many repeat orders carry a price in the organization's currency
    first_value: Floats | None = None  # the first order's value (NaN: none, or another currency)
    cutoff: float = float("nan")  # the day the summaries are as of (days since 1970-01-01)
    repeat_phases: Floats | None = None  # the rows' repeat orders by ``btyd_seasons.phase_counts``


def rfm_at(history: History, cutoff: float, rows: Ints, *, phases: bool = False) -> Rfm:
    """Summaries of ``rows`` from their PAID orders strictly before ``cutoff``; with ``phases``
    also ``repeat_phases``, which only fitting the seasonal model needs."""
    orders, size = history.orders, history.size
    before = orders.before(cutoff)
    customer, day = orders.customer[before], orders.day[before]
    amount = orders.amount[before] if orders.amount is not None else np.full(len(day), np.nan)
    order = np.lexsort((day, customer))
    customer, day, amount = customer[order], day[order], amount[order]
    first_of_customer = np.ones(len(customer), bool)
    first_of_customer[1:] = customer[1:] != customer[:-1]
    count = np.bincount(customer, minlength=size).astype(np.float64)
    first = np.full(size, np.inf)
    np.minimum.at(first, customer, day)
    last = np.full(size, -np.inf)
    np.maximum.at(last, customer, day)
    repeat = ~first_of_customer & ~np.isnan(amount)
    repeat_phases = None
    if phases:
        among = np.zeros(size, bool)
        among[rows] = True
        repeat_phases = phase_counts(day[~first_of_customer & among[customer]])
    priced = np.bincount(customer[repeat], minlength=size).astype(np.float64)
    money = np.bincount(customer[repeat], weights=amount[repeat], minlength=size)
    bought = count[rows] > 0
    first_value = np.full(size, np.nan)
    first_value[customer[first_of_customer]] = amount[first_of_customer]
    with np.errstate(invalid="ignore", divide="ignore"):
        spend = np.where(priced[rows] > 0, money[rows] / priced[rows], np.nan)
    return Rfm(
        index=rows, bought=bought, x=np.maximum(count[rows] - 1, 0.0),
        t_x=np.where(bought, last[rows] - first[rows], 0.0),
        T=np.where(bought, cutoff - first[rows], 0.0), spend=spend, priced=priced[rows],
        first_value=first_value[rows], cutoff=cutoff, repeat_phases=repeat_phases,
    )


def first_order_spend(history: History, cutoff: float, rows: Ints) -> Floats:
    """The value of each row's first PAID order before ``cutoff`` (NaN without one)."""
    orders = history.orders
    before = orders.before(cutoff)
    customer, day = orders.customer[before], orders.day[before]
    amount = orders.amount[before] if orders.amount is not None else np.full(len(day), np.nan)
    order = np.lexsort((day, customer))
    customer, amount = customer[order], amount[order]
    firsts = np.ones(len(customer), bool)
    firsts[1:] = customer[1:] != customer[:-1]
    value = np.full(history.size, np.nan)
    value[customer[firsts]] = amount[firsts]
    return value[rows]
