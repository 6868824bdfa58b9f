"""Gamma-Gamma spend: the published CDNOW estimates and recovery of simulated parameters."""

from __future__ import annotations

import numpy as np
import pytest

from ml import spend
from ml.btyd import CannotFit
from tests.ml.cdnow import data_dir, summary_sample


def test_fit_reproduces_the_published_cdnow_estimates() -> None:
    folder = data_dir()
    if folder is None:
        pytest.skip("the lifetimes package (CDNOW data) is not installed")
    x, _, _, m = summary_sample(folder)
    params = spend.fit(x, m)
    # Fader, Hardie & Lee (2005, "RFM and CLV"): p 6.25, q 3.74, gamma 15.44 on 946 repeat buyers
    assert params.as_dict() == pytest.approx({"p": 6.25, "q": 3.74, "gamma": 15.44}, rel=2e-3)


def test_fit_recovers_simulated_parameters_and_shrinks_towards_the_mean() -> None:
    truth = spend.GammaGamma(p=6.0, q=4.0, gamma=20.0)
    rng = np.random.default_rng(6)
    nu = rng.gamma(truth.q, 1 / truth.gamma, 20_000)
    x = rng.integers(1, 8, 20_000).astype(np.float64)
    m = rng.gamma(truth.p * x, 1 / nu) / x  # the mean of x Gamma(p, nu) values
    fitted = spend.fit(x, m)
    assert fitted.p == pytest.approx(truth.p, rel=0.1)
    # q and gamma trade off against each other; the mean spend they imply is pinned down
    assert fitted.q == pytest.approx(truth.q, rel=0.3)
    assert fitted.gamma == pytest.approx(truth.gamma, rel=0.3)
    assert fitted.population_mean == pytest.approx(truth.population_mean, rel=0.03)
    values = spend.expected_order_value(fitted, np.array([1.0, 20.0, 0.0]),
                                        np.array([200.0, 200.0, np.nan]))
    assert values[2] == pytest.approx(fitted.population_mean)
    assert values[2] < values[0] < values[1] < 200.0


def test_too_few_priced_customers_cannot_be_fitted() -> None:
    with pytest.raises(CannotFit):
        spend.fit(np.ones(3), np.ones(3))
