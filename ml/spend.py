"""Gamma-Gamma model of spend per order (Fader, Hardie & Lee 2005, "RFM and CLV").

A customer's order values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers, so the
expected value of their next order shrinks their own average towards the population's, the
more the fewer orders it rests on. Fitted by maximum likelihood on the repeat buyers' average
order values (``x`` orders each, average ``m``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln

from ml.btyd import CannotFit
from ml.features import Floats

MIN_CUSTOMERS = 10


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters (``gamma`` in money)."""

    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        """The parameters, rounded, for metrics."""
        return {"p": round(self.p, 4), "q": round(self.q, 4), "gamma": round(self.gamma, 4)}

    @property
    def population_mean(self) -> float:
        """The expected order value of a customer about whom nothing is known."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("nan")


def log_likelihood(params: GammaGamma, x: Floats, m: Floats) -> Floats:
    """Each customer's log-likelihood of their average order value ``m`` over ``x`` orders."""
    p, q, g = params.p, params.q, params.gamma
    px = p * x
    return np.asarray(
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(g + m * x),
        dtype=np.float64,
    )


def fit(x: Floats, m: Floats) -> GammaGamma:
    """Maximum-likelihood parameters from customers with ``x >= 1`` orders of average ``m > 0``."""
    keep = (x >= 1) & (m > 0) & np.isfinite(m)
    x, m = x[keep], m[keep]
    if len(x) < MIN_CUSTOMERS:
        raise CannotFit(f"{len(x)} customers with priced orders; at least "
                        f"{MIN_CUSTOMERS} are needed")
    scale = float(np.mean(m))

    def objective(theta: Floats) -> float:
        return -float(np.mean(log_likelihood(GammaGamma(*np.exp(theta)), x, m)))

    result = minimize(objective, np.log([2.0, 3.0, scale]), method="L-BFGS-B",
                      bounds=[(-7.0, 9.0), (-7.0, 9.0), (-9.0, 20.0)],
                      options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 500})
    fitted = GammaGamma(*(float(v) for v in np.exp(result.x)))
    if fitted.q <= 1:
        raise CannotFit("order values vary too wildly for a finite expected spend")
    return fitted


def expected_order_value(params: GammaGamma, x: Floats, m: Floats) -> Floats:
    """Each customer's expected order value, given ``x`` priced orders averaging ``m``."""
    x = np.where(np.isfinite(m) & (m > 0), x, 0.0)
    m = np.nan_to_num(m)
    weight = params.p * x / (params.p * x + params.q - 1)
    return np.asarray(weight * m + (1 - weight) * params.population_mean, dtype=np.float64)
