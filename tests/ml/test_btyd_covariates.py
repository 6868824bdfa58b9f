"""BG/NBD with the first order's value as a covariate: it recovers the effects it was simulated
with, finds none where there are none, and needs priced first orders."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from ml import btyd, btyd_covariates
from ml.btyd_covariates import CovariateBgNbd
from tests.ml.simulate_btyd import first_values, repeat_purchases, summaries

TRUE = btyd.BgNbd(r=0.25, alpha=33.0, a=0.75, b=2.2)
EFFECTS = (0.4, -0.3, 0.5)


def _population(effects: tuple[float, float, float], n: int = 20_000, seed: int = 3):
    rng = np.random.default_rng(seed)
    T = rng.integers(180, 365, n).astype(np.float64)
    value = first_values(n, seed)
    params = CovariateBgNbd(TRUE, *effects, center=3.5, scale=0.6).each(value)
    x, t_x = summaries(*repeat_purchases(params, T, seed), T)
    return x, t_x, T, value


def test_fit_recovers_the_effects_it_was_simulated_with() -> None:
    x, t_x, T, value = _population(EFFECTS)
    fitted = btyd_covariates.fit(x, t_x, T, value)
    assert fitted.center == pytest.approx(3.5, abs=0.02)
    assert fitted.scale == pytest.approx(0.6, abs=0.02)
    assert fitted.r == pytest.approx(TRUE.r, rel=0.1)
    assert fitted.alpha == pytest.approx(TRUE.alpha, rel=0.15)
    assert fitted.base.a == pytest.approx(TRUE.a, rel=0.3)
    assert fitted.base.b == pytest.approx(TRUE.b, rel=0.3)
    assert fitted.g_r == pytest.approx(EFFECTS[0], abs=0.1)
    # a and b moving together barely changes the mean dropout, so (as for a and b themselves)
    # their common shift is loosely identified; the shift of the mean dropout is sharp
    assert fitted.g_a - fitted.g_b == pytest.approx(EFFECTS[1] - EFFECTS[2], abs=0.15)
    assert fitted.g_a == pytest.approx(EFFECTS[1], abs=0.3)
    assert fitted.g_b == pytest.approx(EFFECTS[2], abs=0.3)
    # and the truth is not significantly less likely than the estimate (likelihood ratio)
    truth = CovariateBgNbd(TRUE, *EFFECTS, center=3.5, scale=0.6)
    gap = (btyd.log_likelihood(fitted.each(value), x, t_x, T).sum()
           - btyd.log_likelihood(truth.each(value), x, t_x, T).sum())
    assert 0 <= 2 * gap < chi2.ppf(0.999, df=7)
    # the covariate model is far more likely than plain BG/NBD (3 more parameters)
    plain = btyd.fit(x, t_x, T)
    gain = (btyd.log_likelihood(fitted.each(value), x, t_x, T).sum()
            - btyd.log_likelihood(plain, x, t_x, T).sum())
    assert 2 * gain > chi2.ppf(0.999, df=3)


def test_without_an_effect_it_is_bg_nbd() -> None:
    x, t_x, T, value = _population((0.0, 0.0, 0.0), seed=4)
    fitted = btyd_covariates.fit(x, t_x, T, value)
    plain = btyd.fit(x, t_x, T)
    gain = (btyd.log_likelihood(fitted.each(value), x, t_x, T).sum()
            - btyd.log_likelihood(plain, x, t_x, T).sum())
    assert 0 <= 2 * gain < chi2.ppf(0.999, df=3)
    assert max(abs(fitted.g_r), abs(fitted.g_a), abs(fitted.g_b)) < 0.2
    ours = btyd.expected_purchases(fitted.each(value), x, t_x, T, 90.0)
    theirs = btyd.expected_purchases(plain, x, t_x, T, 90.0)
    assert ours.sum() == pytest.approx(theirs.sum(), rel=0.02)


def test_zero_effects_give_bg_nbd_exactly_and_missing_values_the_average_customer() -> None:
    model = CovariateBgNbd(TRUE, 0.0, 0.0, 0.0, center=3.5, scale=0.6)
    x, t_x, T = np.array([0.0, 3.0]), np.array([0.0, 50.0]), np.array([100.0, 120.0])
    each = model.each(np.array([10.0, 500.0]))
    assert btyd.expected_purchases(each, x, t_x, T, 90.0) == pytest.approx(
        btyd.expected_purchases(TRUE, x, t_x, T, 90.0))
    assert btyd.p_alive(each, x, t_x, T) == pytest.approx(btyd.p_alive(TRUE, x, t_x, T))
    assert model.z(np.array([np.nan, -1.0, np.expm1(3.5)])).tolist() == [0.0, 0.0, 0.0]


def test_needs_priced_first_orders() -> None:
    x, t_x, T, _ = _population((0.0, 0.0, 0.0), n=2_000)
    with pytest.raises(btyd.CannotFit, match="first-order value"):
        btyd_covariates.fit(x, t_x, T, np.full(len(x), np.nan))
    with pytest.raises(btyd.CannotFit, match="first-order value"):
        btyd_covariates.fit(x, t_x, T, np.full(len(x), 25.0))


def test_a_customer_whose_a_is_one_gets_the_limit_not_infinity() -> None:
    x, t_x, T = np.array([0.0, 3.0, 10.0]), np.array([0.0, 100.0, 150.0]), np.full(3, 200.0)
    at_one = btyd.expected_purchases(btyd.BgNbd(0.25, 33.0, 1.0, 2.2), x, t_x, T, 90.0)
    near = btyd.expected_purchases(btyd.BgNbd(0.25, 33.0, 1.001, 2.2), x, t_x, T, 90.0)
    assert at_one == pytest.approx(near, rel=2e-3)
    each = CovariateBgNbd(btyd.BgNbd(0.25, 33.0, 1.0, 2.2), 0.0, 0.0, 0.0, 3.5, 0.6)
    assert np.all(np.isfinite(btyd.expected_purchases(each.each(np.full(3, 30.0)), x, t_x, T,
                                                      90.0)))


def test_the_likelihood_gradient_matches_finite_differences() -> None:
    x, t_x, T, value = _population((0.3, -0.2, 0.2), n=300, seed=6)
    params = CovariateBgNbd(TRUE, 0.3, -0.2, 0.2, center=3.5, scale=0.6).each(value)
    analytic = btyd.log_likelihood_gradient(params, x, t_x, T)
    for k, name in enumerate(("r", "alpha", "a", "b")):
        step = 1e-6 * getattr(params, name)
        up = btyd.BgNbdEach(**{**params.__dict__, name: getattr(params, name) + step})
        down = btyd.BgNbdEach(**{**params.__dict__, name: getattr(params, name) - step})
        numeric = (btyd.log_likelihood(up, x, t_x, T)
                   - btyd.log_likelihood(down, x, t_x, T)) / (2 * step)
        assert analytic[k] == pytest.approx(numeric, rel=1e-4, abs=1e-6), name
