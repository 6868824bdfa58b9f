"""Pareto/NBD: the published CDNOW estimates and recovery of simulated parameters."""

from __future__ import annotations

import numpy as np
import pytest

from ml import pareto
from tests.ml.cdnow import data_dir, summary_sample


def test_fit_reproduces_the_published_cdnow_estimates() -> None:
    folder = data_dir()
    if folder is None:
        pytest.skip("the lifetimes package (CDNOW data) is not installed")
    x, t_x, T, _ = summary_sample(folder)
    params = pareto.fit(x, t_x, T)
    # Fader, Hardie & Lee (2005): r 0.553, alpha 10.578, s 0.606, beta 11.669, LL -9595.0
    assert params.as_dict() == pytest.approx(
        {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}, rel=1e-2
    )
    assert pareto.log_likelihood(params, x, t_x, T).sum() == pytest.approx(-9595.0, abs=0.1)
    alive = pareto.p_alive(params, x, t_x, T)
    assert ((alive > 0) & (alive <= 1)).all()


def _simulate(truth: pareto.ParetoNbd, T: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    rate = rng.gamma(truth.r, 1 / truth.alpha, len(T))
    death = rng.exponential(1 / rng.gamma(truth.s, 1 / truth.beta, len(T)))
    observed = np.minimum(death, T)
    x = rng.poisson(rate * observed).astype(np.float64)
    # given x events of a Poisson process on [0, observed), the last is the max of x uniforms
    t_x = observed * rng.random(len(T)) ** (1 / np.maximum(x, 1))
    return x, np.where(x > 0, t_x, 0.0)


def test_fit_recovers_the_parameters_it_was_simulated_with() -> None:
    truth = pareto.ParetoNbd(r=0.55, alpha=74.0, s=0.6, beta=82.0)
    T = np.random.default_rng(2).integers(180, 365, 4_000).astype(np.float64)
    x, t_x = _simulate(truth, T, seed=4)
    fitted = pareto.fit(x, t_x, T)
    assert fitted.r == pytest.approx(truth.r, rel=0.15)
    assert fitted.alpha == pytest.approx(truth.alpha, rel=0.25)
    # s and beta trade off against each other; their ratio (the mean death rate) is pinned down
    assert fitted.s / fitted.beta == pytest.approx(truth.s / truth.beta, rel=0.3)
    expected = pareto.expected_purchases(fitted, x, t_x, T, 90.0)
    assert expected.sum() == pytest.approx(
        pareto.expected_purchases(truth, x, t_x, T, 90.0).sum(), rel=0.1
    )
