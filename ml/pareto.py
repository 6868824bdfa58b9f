"""Pareto/NBD, the original buy-till-you-die model (Schmittlein, Morrison & Colombo 1987).

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, alpha); their lifetime
is exponential with rate μ ~ Gamma(s, beta), so unlike BG/NBD they may drop out at any moment,
also before a second purchase. The likelihood and the conditional expectations follow Fader &
Hardie's 2005 note "A note on deriving the Pareto/NBD model and related expressions",
computed in log space. Summaries (``x``, ``t_x``, ``T``) are those of ``ml.btyd``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, logsumexp

from ml.btyd import CannotFit, check_sample, pooled
from ml.features import Floats

QUADRATURE_NODES = 65


@dataclass(frozen=True)
class ParetoNbd:
    """Fitted Pareto/NBD parameters (``alpha`` and ``beta`` in days)."""

    r: float
    alpha: float
    s: float
    beta: float

    def as_dict(self) -> dict[str, float]:
        """The parameters, rounded, for metrics."""
        return {k: round(v, 4) for k, v in
                {"r": self.r, "alpha": self.alpha, "s": self.s, "beta": self.beta}.items()}


def _log_death_integral(params: ParetoNbd, x: Floats, t_x: Floats, T: Floats) -> Floats:
    """log of the integral over death times tau in (t_x, T] of (alpha+tau)^-(r+x) (beta+tau)^-(s+1).

    This is the note's s/(r+s+x)·A0 without the s, computed by quadrature instead of the
    Gauss hypergeometric function (whose series crawls for frequent buyers): with y = log(alpha+tau)
    the integrand is nearly exponential in y, so it is integrated exactly on each piece of a
    piecewise-linear fit of its logarithm.
    """
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    nodes = np.linspace(0.0, 1.0, QUADRATURE_NODES)
    low, high = np.log(alpha + t_x), np.log(alpha + T)
    y = low[:, None] + (high - low)[:, None] * nodes[None, :]
    log_f = (1 - r - x)[:, None] * y - (s + 1) * np.log(beta - alpha + np.exp(y))
    step = np.diff(y, axis=1)
    rise = np.diff(log_f, axis=1)
    # ∫ exp(a + b·u) du over [0, h] = exp(a) · h · (exp(b·h) - 1) / (b·h), in log space
    bh = rise
    with np.errstate(divide="ignore", invalid="ignore"):
        shape = np.where(np.abs(bh) < 1e-8, np.log1p(bh / 2),
                         np.log(np.expm1(bh) / bh))
        pieces = log_f[:, :-1] + np.log(step) + shape
    total = logsumexp(pieces, axis=1)
    return np.asarray(np.where(high > low, total, -np.inf), dtype=np.float64)


def _log_alive_terms(params: ParetoNbd, x: Floats, t_x: Floats, T: Floats) -> tuple[Floats, Floats]:
    """The two terms of the likelihood's bracket: alive at ``T``, and died after ``t_x``."""
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died = np.log(s) + _log_death_integral(params, x, t_x, T)
    return alive, died


def log_likelihood(params: ParetoNbd, x: Floats, t_x: Floats, T: Floats) -> Floats:
    """Each customer's log-likelihood under ``params`` (the note's equation 22)."""
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    alive, died = _log_alive_terms(params, x, t_x, T)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return np.asarray(head + np.logaddexp(alive, died), dtype=np.float64)


def fit(x: Floats, t_x: Floats, T: Floats) -> ParetoNbd:
    """Maximum-likelihood parameters for customers with at least one purchase."""
    check_sample(x)
    px, pt, pT, weight = pooled(x, t_x, T)
    total = weight.sum()
    scale = max(float(np.mean(T)), 1.0)

    def objective(theta: Floats) -> float:
        values = log_likelihood(ParetoNbd(*np.exp(theta)), px, pt, pT)
        if not np.all(np.isfinite(values)):
            return 1e10
        return -float(np.dot(weight, values) / total)

    best = minimize(objective, np.log([0.5, scale / 4, 0.5, scale / 4]), method="L-BFGS-B",
                    bounds=[(-7.0, 7.0), (-7.0, 11.0), (-7.0, 7.0), (-7.0, 11.0)],
                    options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": 300})
    if best.fun >= 1e10:
        raise CannotFit("the Pareto/NBD likelihood could not be evaluated on this history")
    return ParetoNbd(*(float(v) for v in np.exp(best.x)))


def p_alive(params: ParetoNbd, x: Floats, t_x: Floats, T: Floats) -> Floats:
    """Probability that each customer is still alive at ``T`` (the note's equation 18)."""
    alive, died = _log_alive_terms(params, x, t_x, T)
    return np.asarray(np.exp(alive - np.logaddexp(alive, died)), dtype=np.float64)


def expected_purchases(
    params: ParetoNbd, x: Floats, t_x: Floats, T: Floats, horizon: float
) -> Floats:
    """Expected purchases in ``(T, T + horizon]`` given each history (the note's eq. 21)."""
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    if abs(s - 1) < 1e-6:
        span = np.log((beta + T + horizon) / (beta + T))
    else:
        span = (1 - ((beta + T) / (beta + T + horizon)) ** (s - 1)) / (s - 1)
    rate = (r + x) * (beta + T) / (alpha + T)
    out = p_alive(params, x, t_x, T) * rate * span
    return np.asarray(np.maximum(np.nan_to_num(out, nan=0.0), 0.0), dtype=np.float64)
