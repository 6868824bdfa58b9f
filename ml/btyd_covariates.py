"""BG/NBD with a time-invariant covariate: the value of each customer's first order.

Fader & Hardie ("Incorporating time-invariant covariates into the Pareto/NBD and BG/NBD
models", 2007) let covariates scale the parameters of each customer's mixing distributions.
Here the covariate ``z`` is the log of the first order's value, standardised over the buyers
(0 when the first order has no price in the organization's currency), and it moves the shape
of the purchase-rate distribution and both shapes of the dropout distribution:
``r_i = r·exp(g_r·z_i)``, ``a_i = a·exp(g_a·z_i)``, ``b_i = b·exp(g_b·z_i)``; ``alpha`` is
common. With every ``g`` at 0 it is BG/NBD, which is where the fit starts. Which parameters the
covariate moves was decided on the CDNOW calibration period's own held-out window (see
``bench/ML.md``), never on its holdout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from ml import btyd
from ml.btyd import BgNbd, BgNbdEach, CannotFit, check_sample
from ml.features import Floats

MIN_PRICED = 10  # buyers whose first order has a price: fewer cannot show an effect
Z_QUANTUM = 0.02  # covariate rounding (in standard deviations) so identical customers pool
MAX_EFFECT = 3.0  # bound on each effect per standard deviation of the covariate


@dataclass(frozen=True)
class CovariateBgNbd:
    """BG/NBD parameters of a customer with an average first order, and the covariate's effects."""

    base: BgNbd
    g_r: float
    g_a: float
    g_b: float
    center: float  # mean of log1p(first-order value) over the fitted buyers
    scale: float  # its standard deviation

    @property
    def r(self) -> float:
        """``r`` of the average customer (for code that reads a count model's ``r``)."""
        return self.base.r

    @property
    def alpha(self) -> float:
        """The common ``alpha`` (days)."""
        return self.base.alpha

    def z(self, first_value: Floats) -> Floats:
        """Each customer's standardised covariate (0 without a priced first order)."""
        return standardise(first_value, self.center, self.scale)

    def each(self, first_value: Floats) -> BgNbdEach:
        """Every customer's own BG/NBD parameters."""
        z = self.z(first_value)
        return _each(self.base, (self.g_r, self.g_a, self.g_b), z)

    def as_dict(self) -> dict[str, float]:
        """The parameters, rounded, for metrics."""
        return {**self.base.as_dict(), "g_r": round(self.g_r, 4), "g_a": round(self.g_a, 4),
                "g_b": round(self.g_b, 4)}


def standardise(first_value: Floats, center: float, scale: float) -> Floats:
    """``(log1p(value) - center) / scale``, 0 where the value is missing or negative."""
    with np.errstate(invalid="ignore"):
        logged = np.log1p(np.where(first_value >= 0, first_value, np.nan))
    z = (logged - center) / scale
    return np.asarray(np.where(np.isfinite(z), z, 0.0), dtype=np.float64)


def _each(base: BgNbd, effects: tuple[float, float, float], z: Floats) -> BgNbdEach:
    g_r, g_a, g_b = effects
    return BgNbdEach(
        r=base.r * np.exp(g_r * z), alpha=np.full(len(z), base.alpha),
        a=base.a * np.exp(g_a * z), b=base.b * np.exp(g_b * z),
    )


def _pooled(x: Floats, t_x: Floats, T: Floats, z: Floats) -> tuple[Floats, ...]:
    """Identical (x, t_x, T, z) rows once rounded, with their counts."""
    quantum = max(float(np.mean(T)), 1e-9) / 2000
    rows = np.column_stack([x, np.round(t_x / quantum) * quantum, np.round(T / quantum) * quantum,
                            np.round(z / Z_QUANTUM) * Z_QUANTUM])
    unique, counts = np.unique(rows, axis=0, return_counts=True)
    return unique[:, 0], unique[:, 1], unique[:, 2], unique[:, 3], counts.astype(np.float64)


def fit(x: Floats, t_x: Floats, T: Floats, first_value: Floats,
        start: BgNbd | None = None) -> CovariateBgNbd:
    """Maximum-likelihood parameters and effects for customers with at least one purchase."""
    check_sample(x)
    with np.errstate(invalid="ignore"):
        logged = np.log1p(first_value[first_value >= 0])
    if len(logged) < MIN_PRICED or float(np.std(logged)) < 1e-6:
        raise CannotFit(f"{len(logged)} buyers have a priced first order with distinct values; "
                        f"at least {MIN_PRICED} are needed for the first-order value covariate")
    center, scale = float(np.mean(logged)), float(np.std(logged))
    base = start if start is not None else btyd.fit(x, t_x, T)
    px, pt, pT, pz, weight = _pooled(x, t_x, T, standardise(first_value, center, scale))
    total = weight.sum()

    def objective(theta: Floats) -> tuple[float, Floats]:
        params = _each(BgNbd(*np.exp(theta[:4])), (theta[4], theta[5], theta[6]), pz)
        values = btyd.log_likelihood(params, px, pt, pT)
        if not np.all(np.isfinite(values)):
            return 1e10, np.zeros(7)
        d_r, d_alpha, d_a, d_b = btyd.log_likelihood_gradient(params, px, pt, pT)
        # log-links: d/d log r_i = r_i d/dr_i, and z_i times that for the effect on r
        per = [d_r * params.r, d_alpha * params.alpha, d_a * params.a, d_b * params.b]
        grad = [np.dot(weight, g) for g in per] + [np.dot(weight, g * pz) for g in
                                                   (per[0], per[2], per[3])]
        return -float(np.dot(weight, values) / total), -np.asarray(grad) / total

    theta0 = np.concatenate([np.log([base.r, base.alpha, base.a, base.b]), np.zeros(3)])
    bounds = [(-9.0, 9.0), (-9.0, 14.0), (-9.0, 9.0), (-9.0, 9.0)]
    bounds += [(-MAX_EFFECT, MAX_EFFECT)] * 3
    result = minimize(objective, theta0, method="L-BFGS-B", jac=True, bounds=bounds,
                      options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 500})
    theta = result.x if result.fun <= objective(theta0)[0] else theta0
    return CovariateBgNbd(BgNbd(*(float(v) for v in np.exp(theta[:4]))), float(theta[4]),
                          float(theta[5]), float(theta[6]), center, scale)
