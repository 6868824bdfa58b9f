"""BG/NBD, the buy-till-you-die model of repeat purchases (Fader, Hardie & Lee 2005).

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, alpha); after each
purchase they drop out with probability p ~ Beta(a, b). A customer is summarised by
``x`` (repeat purchases after the first), ``t_x`` (time of the last purchase, counted from the
first) and ``T`` (time from the first purchase to the cutoff), all in the same unit (days here).
Parameters are fitted by maximum likelihood; identical summaries are pooled, so a fit costs the
same for 10k or 1M customers with similar histories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, hyp2f1, logsumexp

from ml.features import Floats

MIN_BUYERS = 10  # customers with a first purchase
MIN_REPEATERS = 3  # of whom bought again: without them the dropout process is unidentified


class CannotFit(Exception):
    """Too few purchases to identify the model's parameters."""


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters (``alpha`` in days)."""

    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        """The parameters, rounded, for metrics."""
        return {k: round(v, 4) for k, v in
                {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}.items()}


@dataclass(frozen=True)
class BgNbdEach:
    """BG/NBD parameters that differ by customer (one value per row), as covariates make them."""

    r: Floats
    alpha: Floats
    a: Floats
    b: Floats


Params = BgNbd | BgNbdEach


def log_likelihood(params: Params, x: Floats, t_x: Floats, T: Floats) -> Floats:
    """Each customer's log-likelihood under ``params`` (FHL 2005, equation 6)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    base = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
            + gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x))
    stays = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    drops = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    both = logsumexp(np.stack([stays, drops]), axis=0)
    return np.asarray(base + both, dtype=np.float64)


def _dropped_share(params: Params, x: Floats, t_x: Floats, T: Floats) -> Floats:
    """Each customer's share of the likelihood that says "dropped out after t_x"."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    stays = -(r + x) * np.log(alpha + T)
    drops = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return np.asarray(np.exp(drops - np.logaddexp(stays, drops)), dtype=np.float64)


def log_likelihood_gradient(
    params: Params, x: Floats, t_x: Floats, T: Floats
) -> tuple[Floats, Floats, Floats, Floats]:
    """Each customer's derivatives of ``log_likelihood`` with respect to r, alpha, a and b."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    w = _dropped_share(params, x, t_x, T)
    d_r = (digamma(r + x) - digamma(r) + np.log(alpha)
           - (1 - w) * np.log(alpha + T) - w * np.log(alpha + t_x))
    d_alpha = r / alpha - (r + x) * ((1 - w) / (alpha + T) + w / (alpha + t_x))
    d_a = digamma(a + b) - digamma(a + b + x) + w / a
    d_b = (digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x)
           - w / np.where(repeat, b + x - 1, 1.0))
    return tuple(np.asarray(d * np.ones_like(x), dtype=np.float64)  # type: ignore[return-value]
                 for d in (d_r, d_alpha, d_a, d_b))


def time_gradient(params: Params, x: Floats, t_x: Floats, T: Floats) -> tuple[Floats, Floats]:
    """Each customer's derivatives of ``log_likelihood`` with respect to t_x and T."""
    w = _dropped_share(params, x, t_x, T)
    return (-w * (params.r + x) / (params.alpha + t_x),
            -(1 - w) * (params.r + x) / (params.alpha + T))


def check_sample(x: Floats) -> None:
    """Refuse samples too small to identify a buy-till-you-die model."""
    if len(x) < MIN_BUYERS or int(np.sum(x > 0)) < MIN_REPEATERS:
        raise CannotFit(
            f"{len(x)} buyers of whom {int(np.sum(x > 0))} bought again; at least "
            f"{MIN_BUYERS} buyers and {MIN_REPEATERS} repeat buyers are needed"
        )


def pooled(x: Floats, t_x: Floats, T: Floats) -> tuple[Floats, Floats, Floats, Floats]:
    """Identical summaries once times are rounded to 1/2000 of the mean age, with counts."""
    quantum = max(float(np.mean(T)), 1e-9) / 2000
    rows = np.column_stack([x, np.round(t_x / quantum) * quantum, np.round(T / quantum) * quantum])
    unique, counts = np.unique(rows, axis=0, return_counts=True)
    return unique[:, 0], unique[:, 1], unique[:, 2], counts.astype(np.float64)


def fit(x: Floats, t_x: Floats, T: Floats, *, penalty: float = 0.0) -> BgNbd:
    """Maximum-likelihood parameters for customers with at least one purchase.

    ``penalty`` adds an L2 penalty on the parameters (as in the ``lifetimes`` package), which
    keeps tiny samples from running off to extreme values; 0 gives the published estimates.
    """
    check_sample(x)
    px, pt, pT, weight = pooled(x, t_x, T)
    total = weight.sum()
    scale = max(float(np.mean(T)), 1.0)  # start alpha near the time scale of the data

    def objective(theta: Floats) -> tuple[float, Floats]:
        values = np.exp(theta)
        params = BgNbd(*values)
        value = -float(np.dot(weight, log_likelihood(params, px, pt, pT))) / total
        # d/d(log p) = p * d/dp: the analytic gradient (finite differences cost 8 more passes)
        grad = -np.array([np.dot(weight, d) for d in log_likelihood_gradient(
            params, px, pt, pT)]) / total * values
        return (float(value + penalty * np.sum(values ** 2) / total),
                grad + 2 * penalty * values ** 2 / total)

    start = np.log([1.0, scale, 1.0, 1.0])
    result = minimize(objective, start, jac=True, method="L-BFGS-B",
                      bounds=[(-9.0, 9.0), (-9.0, 14.0), (-9.0, 9.0), (-9.0, 9.0)],
                      options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 500})
    return BgNbd(*(float(v) for v in np.exp(result.x)))


def _death_odds(params: Params, x: Floats, t_x: Floats, T: Floats) -> Floats:
    """Odds that a customer has already dropped out rather than being alive at ``T``."""
    repeat = x > 0
    odds = (params.a / np.where(repeat, params.b + x - 1, 1.0)
            * ((params.alpha + T) / (params.alpha + t_x)) ** (params.r + x))
    return np.where(repeat, odds, 0.0)


def p_alive(params: Params, x: Floats, t_x: Floats, T: Floats) -> Floats:
    """Probability that each customer is still alive at ``T`` (FHL 2008 note, eq. 1)."""
    return np.asarray(1.0 / (1.0 + _death_odds(params, x, t_x, T)), dtype=np.float64)


def expected_purchases(
    params: Params, x: Floats, t_x: Floats, T: Floats, horizon: float
) -> Floats:
    """Expected purchases in ``(T, T + horizon]`` given each history (FHL 2005, eq. 10)."""
    r, alpha, b = params.r, params.alpha, params.b
    # a = 1 is a removable 0/0 (covariates can put a customer's a there): step just past it
    a = np.where(np.abs(params.a - 1.0) < 1e-7, 1.0 + 1e-7, params.a)
    z = horizon / (alpha + T + horizon)
    survive = ((alpha + T) / (alpha + T + horizon)) ** (r + x)
    core = (a + b + x - 1) / (a - 1) * (1.0 - survive * hyp2f1(r + x, b + x, a + b + x - 1, z))
    out = core / (1.0 + _death_odds(params, x, t_x, T))
    return np.asarray(np.maximum(np.nan_to_num(out, nan=0.0), 0.0), dtype=np.float64)


def p_no_purchase(params: Params, x: Floats, t_x: Floats, T: Floats, horizon: float) -> Floats:
    """Probability of no purchase in ``(T, T + horizon]``: dropped out, or alive but quiet.

    An alive customer cannot drop out before buying again, so quiet-while-alive is the
    Poisson zero under the posterior Gamma(r + x, alpha + T) of their rate.
    """
    alive = p_alive(params, x, t_x, T)
    quiet = ((params.alpha + T) / (params.alpha + T + horizon)) ** (params.r + x)
    return np.asarray(1.0 - alive + alive * quiet, dtype=np.float64)

