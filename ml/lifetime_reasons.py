"""Reasons for the buy-till-you-die model's predictions, in a salesperson's words.

Churn risk is explained by the customer's rhythm: how many orders, how long since the last,
and how that gap compares with their usual one; expected revenue by the orders expected, the
value per order compared with a typical customer's and, for a model that knows the seasons,
how busy the coming days are.
"""

from __future__ import annotations

import numpy as np

from ml.explain import CHURN_RISK, EXPECTED_REVENUE, Reason
from ml.lifetime import LifetimeScores

LONG_GAP = 1.5  # a gap this many times the usual one counts as long
SEASON_WORTH_SAYING = 0.1  # a horizon 10 % busier or quieter than the year's mean is worth a word


def _times(orders: int) -> str:
    return "once" if orders == 1 else "twice" if orders == 2 else f"{orders} times"


def _days(days: float) -> str:
    return "today" if days < 1 else "1 day ago" if days < 2 else f"{days:.0f} days ago"


def expected_orders(orders: float, horizon: float) -> str:
    """The orders expected over the horizon in words ("0.0 times" would read as a sure zero)."""
    window = f"in the next {horizon:.0f} days"
    if orders < 0.05:
        return f"almost no orders expected {window}"
    if orders < 0.95:
        return f"likely to order less than once {window} ({orders:.1f} orders expected)"
    if orders < 1.05:
        return f"expected to order about once {window}"
    return f"expected to order about {orders:.1f} times {window}"


def churn_reasons(scores: LifetimeScores, i: int) -> list[Reason]:
    """Why customer ``i`` is (or is not) likely to stop buying."""
    rfm = scores.rfm
    if not rfm.bought[i]:
        return [Reason("orders_total", "UP", 0.0, CHURN_RISK, "has not bought yet")]
    orders, since = int(rfm.x[i]) + 1, float(rfm.T[i] - rfm.t_x[i])
    gone = round(1.0 - float(scores.alive[i]), 4)
    if orders == 1:
        text = f"bought once, {_days(since)}, and not since"
        return [Reason("recency_days", "UP", gone, CHURN_RISK, text)]
    usual = float(rfm.t_x[i]) / (orders - 1)
    rhythm = f"one order every {usual:.0f} days" if usual >= 1 else "several orders a day"
    long_gap = since > LONG_GAP * max(usual, 1.0)
    verdict = (f"a long gap for their usual rhythm of {rhythm}" if long_gap
               else f"in step with their usual rhythm of {rhythm}")
    main = Reason("recency_days", "UP" if long_gap else "DOWN", gone, CHURN_RISK,
                  f"bought {_times(orders)}, last {_days(since)}: {verdict}")
    alive = Reason("p_alive", "DOWN" if gone < 0.5 else "UP", gone, CHURN_RISK,
                   f"{100 * (1 - gone):.0f} % likely still a customer")
    return [main, alive]


def revenue_reasons(
    scores: LifetimeScores, i: int, horizon: float, typical_value: float, currency: str
) -> list[Reason]:
    """Why customer ``i`` is expected to spend what they are."""
    orders, value = float(scores.orders[i]), float(scores.order_value[i])
    if not scores.rfm.bought[i]:
        return [Reason("orders_total", "DOWN", round(float(scores.revenue[i]), 2),
                       EXPECTED_REVENUE,
                       f"has not bought yet: {100 * min(orders, 1.0):.0f} % of such customers "
                       f"place a first order within {horizon:.0f} days")]
    reasons = [Reason(
        "expected_orders", "UP" if orders >= 1 else "DOWN", round(orders, 4), EXPECTED_REVENUE,
        expected_orders(orders, horizon),
    )]
    # within a cent of the typical value (a customer the spend model knows too little about
    # is given the typical value itself) the order value explains nothing either way
    if np.isfinite(value) and typical_value > 0 and round(value, 2) != round(typical_value, 2):
        higher = value > typical_value
        reasons.append(Reason(
            "avg_order_value", "UP" if higher else "DOWN",
            round((value - typical_value) * orders, 2), EXPECTED_REVENUE,
            f"spends about {value:,.2f} {currency} per order "
            f"({'more' if higher else 'less'} than the typical {typical_value:,.2f})",
        ))
    pace = scores.pace
    if pace is not None and abs(pace - 1.0) >= SEASON_WORTH_SAYING and orders > 0:
        busy = pace > 1.0
        reasons.append(Reason(
            "season", "UP" if busy else "DOWN", round(float(scores.revenue[i]) * (1 - 1 / pace), 2),
            EXPECTED_REVENUE,
            f"the next {horizon:.0f} days are {'a busy' if busy else 'a quiet'} season: customers "
            f"order about {pace:.1f} times as often as over the whole year",
        ))
    return reasons
