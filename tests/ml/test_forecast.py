"""The monthly forecast: trend found when there is one, intervals around it, refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from ml import forecast
from ml.features import Events, History, empty_events, to_day
from ml.labels import NotEnoughData


def _monthly(totals: list[float], first: datetime) -> History:
    """One order on the 15th of each month with the given total."""
    days = [to_day(datetime(first.year + (first.month - 1 + i) // 12,
                            (first.month - 1 + i) % 12 + 1, 15, tzinfo=UTC))
            for i in range(len(totals))]
    return History(
        customer_ids=np.array([1]), created_day=np.array([days[0] - 1]),
        orders=Events(customer=np.zeros(len(days), np.int64), day=np.array(days),
                      amount=np.array(totals)),
        interactions=empty_events(), currency="EUR",
    )


def test_a_steady_trend_is_extrapolated_with_an_interval() -> None:
    rng = np.random.default_rng(3)
    totals = [1000 + 100 * i + rng.normal(0, 20) for i in range(30)]
    history = _monthly(totals, datetime(2020, 1, 1, tzinfo=UTC))
    months, metrics = forecast.fit(history, to_day(datetime(2022, 7, 10, tzinfo=UTC)))
    assert metrics["method"] == "linear trend"
    assert metrics["mae"] < metrics["baseline"]["mae"]
    assert months[0].month == date(2022, 7, 1)
    assert len(months) == forecast.MAX_MONTHS
    assert months[0].expected == pytest.approx(1000 + 100 * 30, rel=0.03)
    assert all(m.low <= m.expected <= m.high for m in months)
    assert months[-1].expected > months[0].expected


def test_the_current_month_and_later_orders_are_not_used() -> None:
    totals = [500.0] * 12
    history = _monthly([*totals, 10_000_000.0], datetime(2021, 1, 1, tzinfo=UTC))
    months, _ = forecast.fit(history, to_day(datetime(2022, 1, 20, tzinfo=UTC)))
    assert months[0].expected == pytest.approx(500.0, rel=0.01)


def test_few_months_are_not_enough() -> None:
    history = _monthly([100.0] * 4, datetime(2021, 1, 1, tzinfo=UTC))
    with pytest.raises(NotEnoughData, match="6 complete months"):
        forecast.fit(history, to_day(datetime(2021, 5, 20, tzinfo=UTC)))


def test_a_yearly_wave_is_forecast_once_the_history_covers_it() -> None:
    # December sells 400 more than the trend and June 400 less, on a rising trend
    rng = np.random.default_rng(5)
    totals = [1000 + 20 * i + 400 * np.cos(2 * np.pi * (i - 11) / 12) + rng.normal(0, 20)
              for i in range(30)]  # January 2020 to June 2022
    history = _monthly(totals, datetime(2020, 1, 1, tzinfo=UTC))
    months, metrics = forecast.fit(history, to_day(datetime(2022, 7, 10, tzinfo=UTC)))
    assert metrics["method"] == "linear trend with an annual season"
    assert metrics["mae"] < metrics["candidates"]["linear trend"] < metrics["baseline"]["mae"]
    by_month = {m.month: m.expected for m in months}
    december, june = by_month[date(2022, 12, 1)], by_month[date(2023, 6, 1)]
    assert december == pytest.approx(1000 + 20 * 35 + 400, rel=0.03)
    assert june == pytest.approx(1000 + 20 * 41 - 400, rel=0.03)
    assert max(by_month, key=lambda month: by_month[month]) == date(2022, 12, 1)


def test_a_year_and_a_quarter_is_needed_before_a_season_is_tried() -> None:
    totals = [1000 * (1 + 0.4 * np.cos(2 * np.pi * (i - 11) / 12)) for i in range(18)]
    history = _monthly(totals, datetime(2020, 1, 1, tzinfo=UTC))
    _, metrics = forecast.fit(history, to_day(datetime(2021, 7, 10, tzinfo=UTC)))
    assert "linear trend with an annual season" not in metrics["candidates"]  # 14 months fit
