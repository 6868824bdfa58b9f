"""BG/NBD with an annual season: customers buy faster in some months than in others.

While alive, a customer buys as a Poisson process with rate λ·s(t), where
s(t) = 1 + u·cos(ωt) + v·sin(ωt) (ω = 2π / 365.25 days, t in days since 1970-01-01) is the
same for everyone and averages 1 over a year. Counted in *seasonal time*
τ(t) = ∫ s, such a process is an ordinary Poisson process of rate λ; and since BG/NBD's
customers drop out after purchases, not at moments, the whole model is BG/NBD in seasonal
time. Its likelihood is BG/NBD's of the seasonal-time summaries times the density of the
repeat purchases' calendar days, ∏ s(t_j), which is what identifies u and v (the first
purchase only starts a customer's clock). u = v = 0 is plain BG/NBD.

Predictions are BG/NBD's in seasonal time: the next 90 days count as more than 90 when they
fall in the busy season. An annual cycle cannot be told from a trend in less than a year of
orders, so the model refuses shorter histories.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy.optimize import minimize

from ml import btyd
from ml.btyd import BgNbd, CannotFit
from ml.features import Floats

PERIOD = 365.25
OMEGA = 2 * math.pi / PERIOD
BINS = 365  # repeat purchases are counted by day of the cycle, which is all u and v need
MIN_SPAN_DAYS = 365.0
MAX_COEFFICIENT = 0.7  # |u|, |v|: the amplitude stays under 0.99, every day's rate above 0
_CENTRES = (np.arange(BINS) + 0.5) * 2 * math.pi / BINS
_COS, _SIN = np.cos(_CENTRES), np.sin(_CENTRES)


@dataclass(frozen=True)
class Season:
    """The purchase-rate multiplier s(t) of each calendar day."""

    u: float
    v: float

    def elapsed(self, start: Floats | float, end: Floats | float) -> Floats:
        """Seasonal time from ``start`` to ``end`` (days since 1970-01-01): ∫ s."""
        start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
        return np.asarray(end - start + self._terms(end) - self._terms(start), dtype=np.float64)

    def _terms(self, day: Floats) -> Floats:
        return np.asarray((self.u * np.sin(OMEGA * day) - self.v * np.cos(OMEGA * day)) / OMEGA)

    @property
    def amplitude(self) -> float:
        """How far the busiest day's rate is above the mean (0.3: 30 %)."""
        return math.hypot(self.u, self.v)

    @property
    def peak(self) -> date:
        """The busiest day of the cycle, as a day of 2001 (any year: the cycle is annual)."""
        day = (math.atan2(self.v, self.u) / OMEGA) % PERIOD  # days since 1970-01-01, mod a year
        # 1970 and 2001 are both common years: the n-th day of one is the n-th day of the other
        return date(2001, 1, 1) + timedelta(days=timedelta(days=day).days % 365)


@dataclass(frozen=True)
class SeasonalBgNbd:
    """BG/NBD parameters in seasonal days, and the season."""

    base: BgNbd
    season: Season

    def as_dict(self) -> dict[str, float | str]:
        """The parameters, rounded, and the season in words, for metrics."""
        return {**self.base.as_dict(), "season_u": round(self.season.u, 4),
                "season_v": round(self.season.v, 4),
                "season_amplitude": round(self.season.amplitude, 4),
                "season_peak": self.season.peak.strftime("%d %B")}


def phase_counts(days: Floats) -> Floats:
    """How many of these days (since 1970-01-01) fall in each of ``BINS`` parts of the cycle."""
    bins = np.floor(np.mod(days, PERIOD) / PERIOD * BINS).astype(np.int64)
    return np.bincount(np.clip(bins, 0, BINS - 1), minlength=BINS).astype(np.float64)


def seasonal_summaries(
    season: Season, first: Floats, t_x: Floats, cutoff: float
) -> tuple[Floats, Floats]:
    """``t_x`` and ``T`` in seasonal time, for customers whose first purchase was on ``first``."""
    return season.elapsed(first, first + t_x), season.elapsed(first, cutoff)


def _cycle_rates(season: Season) -> Floats:
    """s(t) in the middle of each of the cycle's ``BINS`` parts."""
    return np.asarray(1.0 + season.u * _COS + season.v * _SIN, dtype=np.float64)


def _log_likelihood(base: BgNbd, x: Floats, sx: Floats, sT: Floats, rates: Floats,
                    weight: Floats) -> float:
    """BG/NBD's of the seasonal-time summaries plus the repeat purchases' calendar term."""
    return float(btyd.log_likelihood(base, x, sx, sT).sum() + np.dot(weight, np.log(rates)))


def log_likelihood(
    model: SeasonalBgNbd, x: Floats, t_x: Floats, T: Floats, cutoff: float, phases: Floats,
    share: float = 1.0,
) -> float:
    """The buyers' log-likelihood (``fit`` says what ``phases`` and ``share`` are)."""
    sx, sT = seasonal_summaries(model.season, cutoff - T, t_x, cutoff)
    return _log_likelihood(model.base, x, sx, sT, _cycle_rates(model.season), phases * share)


def _partials(start: Floats, end: Floats) -> tuple[Floats, Floats]:
    """d/du and d/dv of the seasonal time from ``start`` to ``end`` (it is linear in both)."""
    return ((np.sin(OMEGA * end) - np.sin(OMEGA * start)) / OMEGA,
            -(np.cos(OMEGA * end) - np.cos(OMEGA * start)) / OMEGA)


def fit(
    x: Floats, t_x: Floats, T: Floats, cutoff: float, phases: Floats, share: float = 1.0
) -> SeasonalBgNbd:
    """Maximum-likelihood parameters of buyers summarised as BG/NBD wants, as of ``cutoff``.

    ``phases`` counts the repeat purchases of every buyer by ``phase_counts``; when ``x``,
    ``t_x`` and ``T`` are a sample of them, ``share`` is the sample's share of the buyers, and
    the purchases' density term is weighed by it.
    """
    btyd.check_sample(x)
    span = float(np.max(T)) if len(T) else 0.0
    if span < MIN_SPAN_DAYS:
        raise CannotFit(f"an annual season needs a year of orders; they span {span:.0f} days")
    first = cutoff - T
    weight = phases * share
    dx_u, dx_v = _partials(first, first + t_x)
    dT_u, dT_v = _partials(first, np.full(len(T), cutoff))
    n = float(len(x))

    def objective(theta: Floats) -> tuple[float, Floats]:
        params = BgNbd(*np.exp(theta[:4]))
        season = Season(float(theta[4]), float(theta[5]))
        sx, sT = seasonal_summaries(season, first, t_x, cutoff)
        rates = _cycle_rates(season)
        value = _log_likelihood(params, x, sx, sT, rates, weight)
        grads = btyd.log_likelihood_gradient(params, x, sx, sT)
        g_tx, g_T = btyd.time_gradient(params, x, sx, sT)
        grad = np.array([
            *(float(d.sum()) * p for d, p in zip(grads, np.exp(theta[:4]), strict=True)),
            float(np.dot(g_tx, dx_u) + np.dot(g_T, dT_u) + np.dot(weight, _COS / rates)),
            float(np.dot(g_tx, dx_v) + np.dot(g_T, dT_v) + np.dot(weight, _SIN / rates)),
        ])
        return -value / n, -grad / n

    plain = btyd.fit(x, t_x, T)
    start = np.array([*np.log([plain.r, plain.alpha, plain.a, plain.b]), 0.0, 0.0])
    bound = (-MAX_COEFFICIENT, MAX_COEFFICIENT)
    result = minimize(objective, start, jac=True, method="L-BFGS-B",
                      bounds=[(-9.0, 9.0), (-9.0, 14.0), (-9.0, 9.0), (-9.0, 9.0), bound, bound],
                      options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 500})
    values = result.x
    return SeasonalBgNbd(BgNbd(*(float(v) for v in np.exp(values[:4]))),
                         Season(float(values[4]), float(values[5])))
