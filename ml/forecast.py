"""Monthly sales forecast with a prediction interval, from PAID orders in the org's currency.

Methods compete on a holdout of the last months: a linear trend, a linear trend with an annual
season (a yearly wave, two coefficients, once the months before the holdout cover a year and a
quarter) and the naive mean of the last three months. The winner is refitted on the whole
series, as it was judged; month 1 of the forecast is the calendar month containing the as-of
date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from ml.features import Floats, History
from ml.labels import NotEnoughData

MIN_MONTHS = 6
SEASONAL_MONTHS = 15  # months to fit before a yearly wave is told from a trend
TREND, NAIVE = "linear trend", "mean of last 3 months"
SEASONAL = "linear trend with an annual season"
LEVEL = 0.9
MAX_MONTHS = 12


@dataclass(frozen=True)
class MonthForecast:
    """One forecast month: the expected total and the interval it falls in with ``LEVEL``."""

    month: date
    expected: float
    low: float
    high: float


def _month_numbers(days: Floats) -> npt.NDArray[np.int64]:
    """Calendar months as ``year * 12 + month - 1``."""
    months = np.floor(days).astype(np.int64).astype("datetime64[D]").astype("datetime64[M]")
    return months.astype(np.int64) + 1970 * 12


def _month_date(number: int) -> date:
    return date(number // 12, number % 12 + 1, 1)


def monthly_totals(history: History, as_of: float) -> tuple[int, Floats]:
    """The first month's number and the totals of every complete month before ``as_of``."""
    orders = history.orders
    amount = orders.amount if orders.amount is not None else np.zeros(len(orders.day))
    mask = (orders.day < as_of) & ~np.isnan(amount)
    current = int(_month_numbers(np.array([as_of]))[0])
    if not mask.any():
        return current, np.zeros(0)
    months = _month_numbers(orders.day[mask])
    first = int(months.min())
    totals = np.bincount(months - first, weights=amount[mask], minlength=current - first)
    return first, totals[: current - first].astype(np.float64)


def _design(t: Floats, months: Floats, seasonal: bool) -> Floats:
    columns = [np.ones_like(t), t]
    if seasonal:
        angle = 2 * np.pi * (months % 12) / 12
        columns += [np.cos(angle), np.sin(angle)]
    return np.column_stack(columns)


def _regression(y: Floats, first: int, steps: int, seasonal: bool) -> tuple[Floats, Floats]:
    """OLS point forecasts and their prediction standard errors for ``steps`` months ahead."""
    n = len(y)
    t = np.arange(n, dtype=np.float64)
    X = _design(t, t + first, seasonal)
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    dof = max(n - X.shape[1], 1)
    sigma2 = float(np.sum((y - X @ coef) ** 2)) / dof
    future = np.arange(n, n + steps, dtype=np.float64)
    Xf = _design(future, future + first, seasonal)
    leverage = np.einsum("ij,jk,ik->i", Xf, np.linalg.pinv(X.T @ X), Xf)
    return Xf @ coef, np.sqrt(sigma2 * (1 + leverage))


def _naive(y: Floats, steps: int) -> tuple[Floats, Floats]:
    """The mean of the last three months, with the spread of its past one-step errors."""
    level = float(y[-3:].mean())
    errors = [y[i] - y[i - 3 : i].mean() for i in range(3, len(y))]
    sigma = float(np.std(errors, ddof=1)) if len(errors) > 1 else float(np.std(y))
    return np.full(steps, level), np.full(steps, sigma * np.sqrt(1 + 1 / 3))


def _mae(y: Floats, p: Floats) -> float:
    return round(float(np.mean(np.abs(y - p))), 4)


def fit(history: History, as_of: float) -> tuple[list[MonthForecast], dict[str, Any]]:
    """Forecasts for the next ``MAX_MONTHS`` months and the holdout comparison behind them."""
    first, y = monthly_totals(history, as_of)
    nonzero = np.flatnonzero(y)
    if len(nonzero) == 0 or len(y) - nonzero[0] < MIN_MONTHS:
        raise NotEnoughData(
            f"a forecast needs {MIN_MONTHS} complete months of PAID orders in "
            f"{history.currency}; there are {len(y) - (nonzero[0] if len(nonzero) else len(y))}"
        )
    first, y = first + int(nonzero[0]), y[nonzero[0]:]
    holdout = min(6, len(y) // 4) or 1
    fit_part, test = y[:-holdout], y[-holdout:]

    def forecasts(name: str, series: Floats, steps: int) -> tuple[Floats, Floats]:
        if name == NAIVE:
            return _naive(series, steps)
        return _regression(series, first, steps, seasonal=name == SEASONAL)

    # simplest first: a tie goes to the simpler method (the naive mean, as before the season)
    names = [NAIVE, TREND] + ([SEASONAL] if len(fit_part) >= SEASONAL_MONTHS else [])
    maes = {name: _mae(test, forecasts(name, fit_part, holdout)[0]) for name in names}
    chosen = min(names, key=lambda name: maes[name])
    point, se = forecasts(chosen, y, MAX_MONTHS)
    z = float(stats.t.ppf(0.5 + LEVEL / 2, max(len(y) - 2, 1)))
    start = first + len(y)
    months = [
        MonthForecast(
            month=_month_date(start + i), expected=round(max(float(point[i]), 0.0), 2),
            low=round(max(float(point[i] - z * se[i]), 0.0), 2),
            high=round(max(float(point[i] + z * se[i]), 0.0), 2),
        )
        for i in range(MAX_MONTHS)
    ]
    metrics = {
        "method": chosen, "mae": maes[chosen], "holdout_months": holdout,
        "baseline": {"name": NAIVE, "mae": maes[NAIVE]}, "candidates": maes,
        "regression_mae": maes[TREND], "months_of_history": len(y), "level": LEVEL,
    }
    return months, metrics
