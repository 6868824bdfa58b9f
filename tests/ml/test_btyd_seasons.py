"""BG/NBD with an annual season: it recovers the season and the parameters it was simulated
with, finds no season where there is none, forecasts the busy season's orders, and is
served by validation when it wins there."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from scipy.stats import chi2

from ml import btyd, btyd_seasons, lifetime
from ml.btyd import CannotFit
from ml.btyd_seasons import OMEGA, Season
from ml.features import existing_at, window_totals
from ml.lifetime import SEASONS, expected_orders, fit_counts
from ml.lifetime_validation import BASELINE, validate
from ml.rfm import rfm_at
from tests.ml.simulate_btyd import JANUARY_2024, seasonal

TRUTH = btyd.BgNbd(r=0.5, alpha=20.0, a=0.6, b=6.0)
PEAK = JANUARY_2024 + 340  # 6 December 2024
AMPLITUDE = 0.35
DECEMBER = Season(AMPLITUDE * math.cos(OMEGA * PEAK), AMPLITUDE * math.sin(OMEGA * PEAK))


def _as_of(history, cutoff: float):  # type: ignore[no-untyped-def]
    rows = existing_at(history, cutoff)
    rfm = rfm_at(history, cutoff, rows, phases=True)
    return rows, rfm


def _fit(season: Season, seed: int, customers: int = 10_000):  # type: ignore[no-untyped-def]
    history, end = seasonal(customers, season=season, truth=TRUTH, seed=seed)
    cutoff = end - 90.0
    rows, rfm = _as_of(history, cutoff)
    b = rfm.bought
    assert rfm.repeat_phases is not None
    fitted = btyd_seasons.fit(rfm.x[b], rfm.t_x[b], rfm.T[b], cutoff, rfm.repeat_phases)
    return history, end, rows, rfm, fitted


def test_fit_recovers_the_season_and_parameters_it_was_simulated_with() -> None:
    _, end, _, rfm, fitted = _fit(DECEMBER, seed=1)
    assert fitted.season.amplitude == pytest.approx(AMPLITUDE, abs=0.05)
    peak = fitted.season.peak
    assert abs((peak - date(2001, 12, 6)).days) <= 10, peak
    assert fitted.base.r == pytest.approx(TRUTH.r, rel=0.1)
    assert fitted.base.alpha == pytest.approx(TRUTH.alpha, rel=0.15)
    assert fitted.base.a / (fitted.base.a + fitted.base.b) == pytest.approx(
        TRUTH.a / (TRUTH.a + TRUTH.b), rel=0.15)  # the mean dropout is sharp; a and b less
    # the estimate is a maximum: the truth is not significantly more likely, and plain
    # BG/NBD (no season) is far less likely, with 2 parameters fewer
    b = rfm.bought
    assert rfm.repeat_phases is not None
    args = (rfm.x[b], rfm.t_x[b], rfm.T[b], end - 90.0, rfm.repeat_phases)
    best = btyd_seasons.log_likelihood(fitted, *args)
    truth = btyd_seasons.log_likelihood(btyd_seasons.SeasonalBgNbd(TRUTH, DECEMBER), *args)
    plain = btyd.fit(rfm.x[b], rfm.t_x[b], rfm.T[b])
    flat = btyd_seasons.log_likelihood(btyd_seasons.SeasonalBgNbd(plain, Season(0.0, 0.0)),
                                       *args)
    assert 0 <= 2 * (best - truth) < chi2.ppf(0.999, df=6)
    assert 2 * (best - flat) > chi2.ppf(0.999, df=2)


def test_without_a_season_it_is_bg_nbd() -> None:
    _, _, _, rfm, fitted = _fit(Season(0.0, 0.0), seed=2)
    assert fitted.season.amplitude < 0.05
    b = rfm.bought
    plain = btyd.fit(rfm.x[b], rfm.t_x[b], rfm.T[b])
    assert fitted.base.r == pytest.approx(plain.r, rel=0.05)
    assert fitted.base.alpha == pytest.approx(plain.alpha, rel=0.05)


def test_it_expects_the_busy_season_where_bg_nbd_expects_the_average() -> None:
    history, end, rows, rfm, fitted = _fit(DECEMBER, seed=3)
    actual = window_totals(history, end - 90.0, end)[0][rows]  # the 90 days before New Year
    ours = expected_orders(fitted, rfm, 90.0)
    theirs = expected_orders(btyd.fit(rfm.x[rfm.bought], rfm.t_x[rfm.bought],
                                      rfm.T[rfm.bought]), rfm, 90.0)
    assert ours.sum() == pytest.approx(actual.sum(), rel=0.05)
    assert theirs.sum() < 0.85 * actual.sum()
    assert np.sqrt(np.mean((ours - actual) ** 2)) < np.sqrt(np.mean((theirs - actual) ** 2))


def test_a_sample_of_buyers_fits_the_same_season(monkeypatch: pytest.MonkeyPatch) -> None:
    # big organizations fit a fixed sample of buyers; the purchases' calendar term is weighed
    # by the sample's share, so the season found is the whole population's
    _, _, _, rfm, whole = _fit(DECEMBER, seed=4, customers=20_000)
    monkeypatch.setattr(lifetime, "MAX_FIT_BUYERS", 5_000)
    sampled = fit_counts(SEASONS, rfm)
    assert isinstance(sampled, btyd_seasons.SeasonalBgNbd)
    assert sampled.season.amplitude == pytest.approx(whole.season.amplitude, abs=0.04)
    assert abs((sampled.season.peak - whole.season.peak).days) <= 10


def test_less_than_a_year_of_orders_cannot_tell_a_season_from_a_trend() -> None:
    history, end = seasonal(3_000, season=DECEMBER, truth=TRUTH, years=0.9, joining=30.0)
    _, rfm = _as_of(history, end)
    with pytest.raises(CannotFit, match="a year"):
        fit_counts(SEASONS, rfm)


def test_validation_serves_it_for_a_seasonal_business_and_not_for_a_young_one() -> None:
    history, end = seasonal(6_000, season=DECEMBER, truth=TRUTH, seed=5)
    _, metrics, served = validate(history, end, 90.0)
    assert served
    assert metrics["method"] == SEASONS, metrics["candidates"]
    assert metrics["parameters"]["season_amplitude"] == pytest.approx(AMPLITUDE, abs=0.07)
    won = metrics["candidates"][SEASONS]
    assert won["rmse"] < metrics["candidates"][BASELINE]["rmse"]
    assert abs(won["total"]) < abs(metrics["candidates"][BASELINE]["total"])
    young, young_end = seasonal(3_000, season=DECEMBER, truth=TRUTH, years=0.9, seed=6)
    _, metrics, _ = validate(young, young_end, 90.0)
    assert SEASONS not in metrics["candidates"]
