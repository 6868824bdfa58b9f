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
from scipy.special import gammaln, hyp2f1, logsumexp

from ml.btyd import CannotFit, check_sample, pooled
from ml.features import Floats


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


def _log_a0(params: ParetoNbd, x: Floats, t_x: Floats, T: Floats) -> Floats:
    """log A0 of the note's equation (19), for either order of alpha and beta."""
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    rsx = r + s + x
    if alpha >= beta:
        top, gap, second = alpha, alpha - beta, np.full_like(x, s + 1)
    else:
        top, gap, second = beta, beta - alpha, r + x
    with np.errstate(divide="ignore", invalid="ignore"):
        at_last = np.log(hyp2f1(rsx, second, rsx + 1, gap / (top + t_x))) - rsx * np.log(top + t_x)
        at_end = np.log(hyp2f1(rsx, second, rsx + 1, gap / (top + T))) - rsx * np.log(top + T)
    # A0 = F(t_x) - F(T) >= 0; equal terms (t_x = T) leave nothing
    stacked = np.stack([at_last, at_end])
    value, _ = logsumexp(stacked, axis=0, b=np.array([[1.0], [-1.0]]), return_sign=True)
    return np.asarray(np.where(at_last > at_end, value, -np.inf), dtype=np.float64)


def _log_alive_terms(params: ParetoNbd, x: Floats, t_x: Floats, T: Floats) -> tuple[Floats, Floats]:
    """The two terms of the likelihood's bracket: alive at ``T``, and died after ``t_x``."""
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died = np.log(s) - np.log(r + s + x) + _log_a0(params, x, t_x, T)
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

    best = None
    for start in ([0.5, scale / 4, 0.5, scale / 4], [1.0, scale, 1.0, scale]):
        result = minimize(objective, np.log(start), method="L-BFGS-B",
                          bounds=[(-7.0, 7.0), (-7.0, 11.0), (-7.0, 7.0), (-7.0, 11.0)],
                          options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 500})
        if best is None or result.fun < best.fun:
            best = result
    assert best is not None
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
