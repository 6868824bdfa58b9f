"""Reasons for the buy-till-you-die predictions read as a salesperson would say them."""

from __future__ import annotations

import numpy as np
import pytest

from ml.lifetime import LifetimeScores
from ml.lifetime_reasons import churn_reasons, expected_orders, revenue_reasons
from ml.rfm import Rfm


def _scores() -> LifetimeScores:
    # 5 orders over 160 days, last 200 days ago; 5 orders, last 20 days ago; one order; none
    rfm = Rfm(index=np.arange(4), bought=np.array([True, True, True, False]),
              x=np.array([4.0, 4.0, 0.0, 0.0]), t_x=np.array([160.0, 160.0, 0.0, 0.0]),
              T=np.array([360.0, 180.0, 45.0, 0.0]), spend=np.array([80.0, 20.0, np.nan, np.nan]),
              priced=np.array([4.0, 4.0, 0.0, 0.0]))
    return LifetimeScores(orders=np.array([0.3, 2.5, 0.4, 0.1]),
                          revenue=np.array([20.0, 60.0, 14.0, 3.5]),
                          alive=np.array([0.2, 0.95, 1.0, 1.0]),
                          churn=np.array([0.85, 0.1, 0.7, 0.9]), rfm=rfm,
                          order_value=np.array([70.0, 24.0, 35.0, 35.0]))


def test_a_long_gap_for_their_rhythm_raises_churn_risk_in_words() -> None:
    scores = _scores()
    lapsed, regular, once, never = (churn_reasons(scores, i) for i in range(4))
    assert lapsed[0].text == ("bought 5 times, last 200 days ago: a long gap for their usual"
                              " rhythm of one order every 40 days")
    assert lapsed[0].direction == "UP"
    assert lapsed[1].text == "20 % likely still a customer"
    assert regular[0].direction == "DOWN"
    assert "in step with their usual rhythm" in regular[0].text
    assert once[0].text == "bought once, 45 days ago, and not since"
    assert never[0].text == "has not bought yet"


def test_expected_revenue_is_explained_by_orders_and_spend() -> None:
    scores = _scores()
    big = revenue_reasons(scores, 0, 90.0, 35.0, "EUR")
    assert [r.about for r in big] == ["EXPECTED_REVENUE", "EXPECTED_REVENUE"]
    assert big[0].text == ("likely to order less than once in the next 90 days"
                           " (0.3 orders expected)")
    assert big[1].text == "spends about 70.00 EUR per order (more than the typical 35.00)"
    assert big[1].direction == "UP"
    small = revenue_reasons(scores, 1, 90.0, 35.0, "EUR")
    assert small[1].direction == "DOWN"
    newcomer = revenue_reasons(scores, 3, 90.0, 35.0, "EUR")
    assert newcomer[0].text.startswith("has not bought yet: 10 % of such customers")


def test_a_spend_equal_to_the_typical_one_is_not_given_as_a_reason() -> None:
    # customer 2 bought once: the spend model gives them the typical value itself
    once = revenue_reasons(_scores(), 2, 90.0, 35.0, "EUR")
    assert [r.text for r in once] == [
        "likely to order less than once in the next 90 days (0.4 orders expected)"]


@pytest.mark.parametrize(("orders", "words"), [
    (0.0, "almost no orders expected in the next 90 days"),
    (0.04, "almost no orders expected in the next 90 days"),
    (0.5, "likely to order less than once in the next 90 days (0.5 orders expected)"),
    (1.0, "expected to order about once in the next 90 days"),
    (2.26, "expected to order about 2.3 times in the next 90 days"),
])
def test_expected_orders_read_as_words_never_as_zero_point_zero(orders: float,
                                                                words: str) -> None:
    assert expected_orders(orders, 90.0) == words


def test_a_busy_or_quiet_season_ahead_is_a_reason_when_the_model_knows_the_seasons() -> None:
    from dataclasses import replace

    busy = revenue_reasons(replace(_scores(), pace=1.3), 1, 90.0, 35.0, "EUR")
    assert busy[-1].text == ("the next 90 days are a busy season: customers order about 1.3"
                             " times as often as over the whole year")
    assert (busy[-1].direction, busy[-1].weight) == ("UP", round(60.0 * (1 - 1 / 1.3), 2))
    quiet = revenue_reasons(replace(_scores(), pace=0.8), 1, 90.0, 35.0, "EUR")
    assert quiet[-1].direction == "DOWN"
    assert "a quiet season" in quiet[-1].text
    # an ordinary season, or a model without seasons, says nothing about it
    for pace in (1.05, None):
        texts = [r.text for r in revenue_reasons(replace(_scores(), pace=pace), 1, 90.0, 35.0,
                                                 "EUR")]
        assert not [t for t in texts if "season" in t]
