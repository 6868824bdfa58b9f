"""The served buy-till-you-die model: purchase counts, P(alive), spend and an optional correction.

A count model (BG/NBD, BG/NBD with the first order's value as a covariate, BG/NBD with an
annual season, or Pareto/NBD) gives each buyer's expected orders over any horizon and the
probability they are still a customer; Gamma-Gamma turns orders into money. Where history
held a labelled window, a gradient-boosting ``Correction`` learned how far reality strayed from
the count model there (with the CRM's engagement features) and scales its expectations.
Customers who never bought get the rate at which such customers made a first purchase.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ml import btyd, btyd_covariates, btyd_seasons, pareto, spend
from ml.features import Floats, History, Ints, features_at
from ml.rfm import Rfm, first_order_spend, rfm_at

CountModel = (btyd.BgNbd | pareto.ParetoNbd | btyd_covariates.CovariateBgNbd
              | btyd_seasons.SeasonalBgNbd)
COVARIATES = "BG/NBD with first-order value"
SEASONS = "BG/NBD with seasons"
COUNT_MODELS = ("BG/NBD", "Pareto/NBD", COVARIATES, SEASONS)
ENGAGEMENT = ("interactions_90d", "inbound_90d", "days_since_interaction", "orders_30d")
MAX_FIT_BUYERS = 50_000  # a likelihood over more buyers moves the estimates by less than noise
MAX_PARETO_BUYERS = 2_000  # its likelihood costs a quadrature per buyer: a fixed sample fits it


def fit_counts(method: str, rfm: Rfm, seed: int = 0) -> CountModel:
    """Fit the named count model on the buyers of ``rfm`` (a fixed sample of big populations)."""
    buyers = np.flatnonzero(rfm.bought)
    limit = MAX_PARETO_BUYERS if method == "Pareto/NBD" else MAX_FIT_BUYERS
    if len(buyers) > limit:
        buyers = np.sort(np.random.default_rng(seed).choice(buyers, limit, replace=False))
    x, t_x, T = rfm.x[buyers], rfm.t_x[buyers], rfm.T[buyers]
    if method == "BG/NBD":
        return btyd.fit(x, t_x, T, penalty=1e-3 if len(buyers) < 500 else 0.0)
    if method == COVARIATES:
        return btyd_covariates.fit(x, t_x, T, _first_value(rfm)[buyers])
    if method == SEASONS:
        assert rfm.repeat_phases is not None, "rfm_at(..., phases=True) for a seasonal fit"
        share = len(buyers) / max(int(np.count_nonzero(rfm.bought)), 1)
        return btyd_seasons.fit(x, t_x, T, rfm.cutoff, rfm.repeat_phases, share)
    return pareto.fit(x, t_x, T)


def _first_value(rfm: Rfm) -> Floats:
    return rfm.first_value if rfm.first_value is not None else np.full(len(rfm.x), np.nan)


def _bg(model: CountModel, rfm: Rfm) -> btyd.Params | None:
    """The BG/NBD parameters behind ``model`` (per customer with covariates), or None."""
    if isinstance(model, btyd_covariates.CovariateBgNbd):
        return model.each(_first_value(rfm))
    if isinstance(model, btyd_seasons.SeasonalBgNbd):
        return model.base
    return model if isinstance(model, btyd.BgNbd) else None


def _clock(model: CountModel, rfm: Rfm, horizon: float) -> tuple[Floats, Floats, float]:
    """``t_x``, ``T`` and the horizon on the model's clock: seasonal time for a seasonal model
    (the busy season's days count for more), calendar days for the others."""
    if not isinstance(model, btyd_seasons.SeasonalBgNbd):
        return rfm.t_x, rfm.T, horizon
    t_x, T = btyd_seasons.seasonal_summaries(model.season, rfm.cutoff - rfm.T, rfm.t_x,
                                             rfm.cutoff)
    return t_x, T, float(model.season.elapsed(rfm.cutoff, rfm.cutoff + horizon))


def expected_orders(model: CountModel, rfm: Rfm, horizon: float) -> Floats:
    """Expected orders of the buyers in the ``horizon`` days after the cutoff (0 for others)."""
    bg = _bg(model, rfm)
    t_x, T, span = _clock(model, rfm, horizon)
    if bg is not None:
        values = btyd.expected_purchases(bg, rfm.x, t_x, T, span)
    else:
        assert isinstance(model, pareto.ParetoNbd)
        values = pareto.expected_purchases(model, rfm.x, t_x, T, span)
    return np.where(rfm.bought, values, 0.0)


def alive(model: CountModel, rfm: Rfm) -> Floats:
    """Probability each buyer is still a customer at the cutoff (1 for those yet to buy)."""
    bg = _bg(model, rfm)
    t_x, T, _ = _clock(model, rfm, 0.0)
    if bg is not None:
        values = btyd.p_alive(bg, rfm.x, t_x, T)
    else:
        assert isinstance(model, pareto.ParetoNbd)
        values = pareto.p_alive(model, rfm.x, t_x, T)
    return np.where(rfm.bought, values, 1.0)


def quiet(model: CountModel, rfm: Rfm, horizon: float) -> Floats:
    """Probability of no order in the horizon: gone, or still a customer but not buying.

    The quiet-while-alive term is the Poisson zero under each buyer's posterior rate (exact for
    BG/NBD; for Pareto/NBD it leaves out dying during the horizon, so it errs towards staying).
    """
    p = alive(model, rfm)
    params: btyd.Params | pareto.ParetoNbd | None = _bg(model, rfm)
    if params is None:
        assert isinstance(model, pareto.ParetoNbd)
        params = model
    _, T, span = _clock(model, rfm, horizon)
    silent = ((params.alpha + T) / (params.alpha + T + span)) ** (params.r + rfm.x)
    return np.asarray(1.0 - p + p * silent, dtype=np.float64)


def pace(model: CountModel, as_of: float, horizon: float) -> float | None:
    """How fast customers buy in the ``horizon`` days after ``as_of`` against the year's mean
    (1.2: 20 % faster), for a model that knows the seasons; None for the others."""
    if not isinstance(model, btyd_seasons.SeasonalBgNbd) or horizon <= 0:
        return None
    return float(model.season.elapsed(as_of, as_of + horizon)) / horizon


def correction_inputs(
    history: History, cutoff: float, rows: Ints, rfm: Rfm, model: CountModel, window: float
) -> Floats:
    """What the correction looks at: the count model's view and the CRM's engagement."""
    table = features_at(history, cutoff, rows)
    gap = rfm.t_x / np.maximum(rfm.x, 1.0)
    columns = [
        rfm.x, rfm.T - rfm.t_x, np.where(rfm.x > 0, (rfm.T - rfm.t_x) / np.maximum(gap, 1.0),
                                         np.nan),
        rfm.spend, first_order_spend(history, cutoff, rows), alive(model, rfm),
        expected_orders(model, rfm, window) / window,
        *(table.column(name) for name in ENGAGEMENT if name in table.names),
    ]
    return np.column_stack(columns)


@dataclass
class Correction:
    """A Poisson gradient-boosting factor on the count model's expectations."""

    regressor: Any
    window: float  # the length of the labelled window it learned from

    def factor(self, X: Floats) -> Floats:
        """How much to scale each customer's expectation."""
        return np.asarray(np.clip(self.regressor.predict(X), 0.0, 20.0), dtype=np.float64)


def fit_correction(X: Floats, expected: Floats, actual: Floats, window: float,
                   seed: int = 0) -> Correction:
    """Learn actual/expected with the expectation as weight (a Poisson fit with an offset)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    weight = np.maximum(expected, 1e-6)
    # a column with no value at all (no order has a price) cannot be binned; as a constant
    # it is never split on, and a missing value at prediction time takes the same path
    X = np.where(np.isnan(X).all(axis=0), 0.0, X)
    regressor = HistGradientBoostingRegressor(
        loss="poisson", max_iter=150, learning_rate=0.08, max_leaf_nodes=15,
        min_samples_leaf=100, l2_regularization=1.0, early_stopping=True,
        validation_fraction=0.15, n_iter_no_change=15, random_state=seed,
    )
    regressor.fit(X, actual / weight, sample_weight=weight)
    return Correction(regressor, window)


@dataclass
class LifetimeScores:
    """Per scored customer: expected orders and money, P(alive) and P(no order in the horizon)."""

    orders: Floats
    revenue: Floats
    alive: Floats
    churn: Floats
    rfm: Rfm
    order_value: Floats
    pace: float | None = None  # the horizon's purchase rate against the year's (``pace``)


@dataclass
class LifetimeModel:
    """Everything needed to score customers as of any later day, for ``horizon`` days."""

    method: str
    counts: CountModel
    spend: spend.GammaGamma | None
    mean_order_value: float
    first_purchase_rate: float  # per day, among customers who never bought
    horizon: float
    correction: Correction | None = None
    blend: CountModel | None = None  # a second count model, averaged in with equal weight
    churn_calibration: Any = None  # logistic regression on the logit, when validation allowed

    def predict(self, history: History, as_of: float, rows: Ints) -> LifetimeScores:
        """Score ``rows`` of the history as of ``as_of``."""
        rfm = rfm_at(history, as_of, rows)
        orders = expected_orders(self.counts, rfm, self.horizon)
        if self.correction is not None:
            X = correction_inputs(history, as_of, rows, rfm, self.counts, self.correction.window)
            orders = orders * self.correction.factor(X)
        if self.blend is not None:
            orders = (orders + expected_orders(self.blend, rfm, self.horizon)) / 2
        newcomers = 1.0 - np.exp(-self.first_purchase_rate * self.horizon)
        orders = np.where(rfm.bought, orders, newcomers)
        value = np.full(len(rows), self.mean_order_value)
        if self.spend is not None:
            value = spend.expected_order_value(self.spend, rfm.priced, rfm.spend)
        churn = np.where(rfm.bought, quiet(self.counts, rfm, self.horizon), 1.0 - newcomers)
        if self.churn_calibration is not None:
            churn = self.churn_calibration.predict_proba(logit(churn)[:, None])[:, 1]
        return LifetimeScores(
            orders=orders, revenue=orders * value, alive=alive(self.counts, rfm),
            churn=churn, rfm=rfm, order_value=value,
            pace=pace(self.counts, as_of, self.horizon),
        )


def logit(p: Floats) -> Floats:
    """log(p / (1 - p)), kept finite."""
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(clipped / (1 - clipped)), dtype=np.float64)
