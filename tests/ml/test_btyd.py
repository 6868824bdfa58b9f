"""BG/NBD: the published CDNOW estimates, recovery of simulated parameters, and the closed
forms behaving as probabilities and expectations should."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from ml import btyd
from tests.ml.cdnow import data_dir, summary_sample
from tests.ml.simulate_btyd import repeat_purchases, simulate, summaries

TRUE = btyd.BgNbd(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426)  # CDNOW's, in days


def test_fit_reproduces_the_published_cdnow_estimates() -> None:
    folder = data_dir()
    if folder is None:
        pytest.skip("the lifetimes package (CDNOW data) is not installed")
    x, t_x, T, _ = summary_sample(folder)
    params = btyd.fit(x, t_x, T)
    # Fader, Hardie & Lee (2005), table 1: r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4
    assert params.as_dict() == pytest.approx(
        {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, rel=2e-3
    )
    assert btyd.log_likelihood(params, x, t_x, T).sum() == pytest.approx(-9582.4, abs=0.1)
    # their worked example: x=2, t_x=30.43, T=38.86 expects 1.226 purchases in 39 weeks
    one = np.array([2.0]), np.array([30.43]), np.array([38.86])
    assert btyd.expected_purchases(params, *one, 39.0)[0] == pytest.approx(1.226, abs=2e-3)


def test_fit_recovers_the_parameters_it_was_simulated_with() -> None:
    T = np.random.default_rng(1).integers(180, 365, 20_000).astype(np.float64)
    x, t_x = simulate(TRUE, T, seed=3)
    fitted = btyd.fit(x, t_x, T)
    assert fitted.r == pytest.approx(TRUE.r, rel=0.1)
    assert fitted.alpha == pytest.approx(TRUE.alpha, rel=0.15)
    assert fitted.a == pytest.approx(TRUE.a, rel=0.3)
    assert fitted.b == pytest.approx(TRUE.b, rel=0.3)
    # and the truth is not significantly less likely than the estimate (likelihood ratio)
    gap = btyd.log_likelihood(fitted, x, t_x, T).sum() - btyd.log_likelihood(TRUE, x, t_x, T).sum()
    assert 0 <= 2 * gap < chi2.ppf(0.999, df=4)


def test_expectations_match_what_simulated_customers_then_do() -> None:
    rng = np.random.default_rng(5)
    T = rng.integers(60, 200, 30_000).astype(np.float64)
    customer, time = repeat_purchases(TRUE, T + 90.0, seed=8)
    x_cal, t_cal = summaries(customer, time, T)
    after = summaries(customer, time, T + 90.0)[0] - x_cal
    expected = btyd.expected_purchases(TRUE, x_cal, t_cal, T, 90.0)
    assert expected.sum() == pytest.approx(after.sum(), rel=0.05)
    quiet = btyd.p_no_purchase(TRUE, x_cal, t_cal, T, 90.0)
    assert quiet.mean() == pytest.approx(float(np.mean(after == 0)), abs=0.01)


def test_p_alive_falls_with_a_long_silence_and_is_one_before_any_repeat() -> None:
    x = np.array([0.0, 5.0, 5.0, 5.0])
    t_x = np.array([0.0, 290.0, 200.0, 100.0])
    alive = btyd.p_alive(TRUE, x, t_x, np.full(4, 300.0))
    assert alive[0] == 1.0
    assert 1 > alive[1] > alive[2] > alive[3] > 0
    quiet = btyd.p_no_purchase(TRUE, x, t_x, np.full(4, 300.0), 90.0)
    assert ((quiet >= 1 - alive) & (quiet <= 1)).all()


def test_too_few_repeat_buyers_cannot_be_fitted() -> None:
    with pytest.raises(btyd.CannotFit, match="repeat buyers"):
        btyd.fit(np.zeros(50), np.zeros(50), np.full(50, 100.0))
