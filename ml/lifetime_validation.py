"""Choosing the served buy-till-you-die model by time-split validation, from short histories.

The last ``window`` days before the as-of date are held out: every candidate (BG/NBD, Pareto/NBD,
BG/NBD with the first order's value as a covariate, BG/NBD with an annual season (given a year
of orders), BG/NBD with a correction learned on the window before, and the equal-weight
averages of Pareto/NBD with either BG/NBD) is fitted on what came earlier and judged on what
then happened. BG/NBD is the baseline to beat: only candidates that beat it on RMSE and on
MAE/MAE(BG/NBD) + RMSE/RMSE(BG/NBD) qualify (``choose`` says why), and of those the one with
the lowest RMSE is served (BG/NBD when none qualifies), provided its
expected revenue (orders times Gamma-Gamma spend) beats the naive "as much as last period"
forecast on RMSE, the rule the supervised revenue model is held to (on orders when no order
has a price).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml import lifetime, spend
from ml.btyd import CannotFit
from ml.features import Floats, History, Ints, existing_at, window_totals
from ml.labels import NotEnoughData
from ml.rfm import rfm_at

MIN_FIT_DAYS = 28  # history a count model needs before a cutoff
MIN_WINDOW_DAYS = 7
BASELINE = "BG/NBD"
MIN_CORRECTION_BUYERS = 1_000  # fewer leave a learned correction mostly noise
PARTNER = "Pareto/NBD"
CORRECTED = "BG/NBD + correction"
BLEND = " & "


@dataclass(frozen=True)
class Windows:
    """The held-out window and, when history allows, the window a correction learns from."""

    window: float
    validation: float  # cutoff: as_of - window
    correction: float | None  # cutoff: validation - window


def plan(history: History, as_of: float, horizon: float) -> Windows:
    """Hold out up to a third of the order history (at most the horizon)."""
    days = history.orders.day[history.orders.before(as_of)]
    span = as_of - float(days.min()) if len(days) else 0.0
    window = min(horizon, span / 3)
    if span - 2 * window >= MIN_FIT_DAYS and window >= MIN_WINDOW_DAYS:
        return Windows(window, as_of - window, as_of - 2 * window)
    window = min(horizon, span - MIN_FIT_DAYS)
    if window < MIN_WINDOW_DAYS:
        raise NotEnoughData(
            f"needs at least {MIN_FIT_DAYS + MIN_WINDOW_DAYS} days of order history; "
            f"it has {max(span, 0.0):.0f}"
        )
    return Windows(window, as_of - window, None)


def errors(actual: Floats, predicted: Floats) -> dict[str, float]:
    """MAE, RMSE and the relative error of the total."""
    total = float(actual.sum())
    return {
        "mae": round(float(np.mean(np.abs(predicted - actual))), 4),
        "rmse": round(float(np.sqrt(np.mean((predicted - actual) ** 2))), 4),
        "total": round(float(predicted.sum()) / total - 1, 4) if total > 0 else 0.0,
    }


def _first_purchase_rate(history: History, cutoff: float, window: float) -> float:
    """Per day: how fast customers without an order made a first one over ``window`` days."""
    start = cutoff - window
    rows = existing_at(history, start)
    earlier, _ = window_totals(history, -np.inf, start)
    during, _ = window_totals(history, start, cutoff)
    never = rows[earlier[rows] == 0]
    if len(never) == 0:
        return 0.0
    share = min(float(np.mean(during[never] > 0)), 0.999)
    return float(-np.log1p(-share) / window)


@dataclass
class _Cut:
    """Everything known at one cutoff about the customers existing then."""

    rows: Ints
    actual: Floats  # orders in the window after the cutoff


def _cut(history: History, cutoff: float, window: float) -> _Cut:
    rows = existing_at(history, cutoff)
    counts, _ = window_totals(history, cutoff, cutoff + window)
    return _Cut(rows, counts[rows])


def _candidates(
    history: History, w: Windows, seed: int
) -> tuple[dict[str, Floats], Floats, dict[str, Floats]]:
    """Each candidate's validation predictions, the outcome and each count model's P(no order)."""
    held = _cut(history, w.validation, w.window)
    rfm = rfm_at(history, w.validation, held.rows, phases=True)
    newcomers = 1 - np.exp(-_first_purchase_rate(history, w.validation, w.window) * w.window)
    predictions: dict[str, Floats] = {}
    quiet: dict[str, Floats] = {}
    for method in lifetime.COUNT_MODELS:
        try:
            model = lifetime.fit_counts(method, rfm, seed)
        except CannotFit:
            if method == BASELINE:
                raise
            continue
        expected = lifetime.expected_orders(model, rfm, w.window)
        predictions[method] = np.where(rfm.bought, expected, newcomers)
        quiet[method] = np.where(rfm.bought, lifetime.quiet(model, rfm, w.window), 1 - newcomers)
        if w.correction is None or method != BASELINE:
            continue
        correction = _correction(history, w, method, seed)
        if correction is None:
            continue
        X = lifetime.correction_inputs(history, w.validation, held.rows, rfm, model, w.window)
        predictions[CORRECTED] = np.where(rfm.bought, expected * correction.factor(X), newcomers)
    if PARTNER in predictions:
        for name in (BASELINE, CORRECTED):
            if name in predictions:
                predictions[name + BLEND + PARTNER] = (predictions[name] + predictions[PARTNER]) / 2
    return predictions, held.actual, quiet


def _correction(
    history: History, w: Windows, method: str, seed: int, cutoff: float | None = None
) -> lifetime.Correction | None:
    """A correction learned on the window after ``cutoff`` (the correction cutoff by default)."""
    start = w.correction if cutoff is None else cutoff
    assert start is not None
    train = _cut(history, start, w.window)
    rfm = rfm_at(history, start, train.rows)
    buyers = rfm.bought
    if int(buyers.sum()) < MIN_CORRECTION_BUYERS:
        return None
    model = lifetime.fit_counts(method, rfm, seed)
    expected = lifetime.expected_orders(model, rfm, w.window)
    X = lifetime.correction_inputs(history, start, train.rows, rfm, model, w.window)
    return lifetime.fit_correction(X[buyers], expected[buyers], train.actual[buyers], w.window,
                                   seed)


def _churn(p: Floats, actual: Floats) -> tuple[dict[str, Any], Any]:
    """Validation of P(no order), and a Platt calibration of it."""
    y = (actual == 0).astype(float)
    if len(np.unique(y)) < 2:
        return {}, None
    calibration = LogisticRegression().fit(lifetime.logit(p)[:, None], y)
    edges = np.unique(np.quantile(p, np.linspace(0, 1, 11)))
    bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    table = [
        {"predicted": round(float(p[bins == b].mean()), 4),
         "observed": round(float(y[bins == b].mean()), 4), "customers": int((bins == b).sum())}
        for b in np.unique(bins)
    ]
    base = float(y.mean())
    return {
        "roc_auc": round(float(roc_auc_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "baseline": {"name": "churn rate", "brier": round(float(np.mean((y - base) ** 2)), 4)},
        "churn_rate": round(base, 4),
        "calibration": table,
    }, calibration


def _revenue(history: History, w: Windows, rows: Ints, orders: Floats) -> dict[str, Any]:
    """Revenue errors in the held-out window (expected orders times Gamma-Gamma spend), beside
    those of "as much as last period"."""
    rfm = rfm_at(history, w.validation, rows)
    _, money = window_totals(history, w.validation, w.validation + w.window)
    _, last = window_totals(history, w.validation - w.window, w.validation)
    try:
        value = spend.expected_order_value(spend.fit(rfm.priced, rfm.spend), rfm.priced, rfm.spend)
    except CannotFit:
        value = np.full(len(rows), _mean_order_value(history, w.validation))
    return {**errors(money[rows], orders * value),
            "baselines": {"last period": errors(money[rows], last[rows])}}


def _mean_order_value(history: History, cutoff: float) -> float:
    amounts = history.orders.amount
    if amounts is None:
        return 0.0
    priced = history.orders.before(cutoff) & ~np.isnan(amounts)
    return float(np.mean(amounts[priced])) if priced.any() else 0.0


def validate(
    history: History, as_of: float, horizon: float, seed: int = 0
) -> tuple[lifetime.LifetimeModel, dict[str, Any], bool]:
    """Pick, refit and judge the model; returns it, its metrics and whether it is served."""
    w = plan(history, as_of, horizon)
    predictions, actual, quiet = _candidates(history, w, seed)
    held = _cut(history, w.validation, w.window)
    last, _ = window_totals(history, w.validation - w.window, w.validation)
    scores = {name: errors(actual, p) for name, p in predictions.items()}
    base = scores[BASELINE]
    chosen = choose(scores)
    naive = errors(actual, last[held.rows])
    revenue = _revenue(history, w, held.rows, predictions[chosen])
    beats = (revenue["rmse"] < revenue["baselines"]["last period"]["rmse"]
             if _mean_order_value(history, w.validation) > 0
             else scores[chosen]["rmse"] < naive["rmse"])
    counts = _count_method(chosen)
    churn_metrics, calibration = _churn(quiet.get(counts, quiet[BASELINE]), actual)
    model = _final(history, as_of, horizon, w, chosen, seed)
    if calibration is not None and w.window == horizon and counts in quiet:
        model.churn_calibration = calibration
    metrics: dict[str, Any] = {
        "method": chosen, "window_days": round(w.window, 1), "candidates": scores,
        "baselines": {BASELINE: base, "last period": naive},
        "won_by": {k: round(base[k] - scores[chosen][k], 4) for k in ("mae", "rmse")},
        "parameters": model.counts.as_dict(),
        "spend": model.spend.as_dict() if model.spend else None,
        "churn": churn_metrics, "validation_customers": len(held.rows),
        "revenue": revenue,
    }
    return model, metrics, beats


def choose(scores: dict[str, dict[str, float]]) -> str:
    """The candidate to serve: of those beating BG/NBD on RMSE and on
    MAE/MAE(BG/NBD) + RMSE/RMSE(BG/NBD), the lowest RMSE; BG/NBD when none does.

    Expected orders are a mean, and RMSE is the error a mean answers to: MAE is smallest for
    the median, which for most customers is no order at all (predicting 0 for everyone beats
    every model on MAE). So a candidate must win on RMSE, and may give up on MAE only less, in
    relative terms, than it wins on RMSE: a model that sees the busy season coming expects
    more orders from everyone, raises MAE a little and puts the total right. Among those that
    qualify, MAE does not decide again (it would prefer the ones that expect less)."""
    base = scores[BASELINE]

    def relative(name: str) -> float:
        s = scores[name]
        return s["mae"] / max(base["mae"], 1e-9) + s["rmse"] / max(base["rmse"], 1e-9)

    better = [name for name, s in scores.items()
              if s["rmse"] < base["rmse"] and relative(name) < 2.0]
    return min(better, key=lambda name: (scores[name]["rmse"], relative(name))) if better \
        else BASELINE


def _count_method(chosen: str) -> str:
    """The count model behind a candidate's name (its blend partner and correction dropped)."""
    return chosen.partition(BLEND)[0].removesuffix(" + correction")


def _final(
    history: History, as_of: float, horizon: float, w: Windows, chosen: str, seed: int
) -> lifetime.LifetimeModel:
    """The chosen candidate refitted on everything known at ``as_of``."""
    first, _, second = chosen.partition(BLEND)
    method = _count_method(chosen)
    rows = existing_at(history, as_of)
    rfm = rfm_at(history, as_of, rows, phases=True)
    counts = lifetime.fit_counts(method, rfm, seed)
    correction = (
        _correction(history, w, method, seed, cutoff=w.validation)
        if first.endswith("correction") else None
    )
    blend = lifetime.fit_counts(second, rfm, seed) if second else None
    try:
        gamma_gamma: spend.GammaGamma | None = spend.fit(rfm.priced, rfm.spend)
    except CannotFit:
        gamma_gamma = None
    mean_value = _mean_order_value(history, as_of)
    return lifetime.LifetimeModel(
        method=chosen, counts=counts, spend=gamma_gamma, mean_order_value=mean_value,
        first_purchase_rate=_first_purchase_rate(history, as_of, w.window), horizon=horizon,
        correction=correction, blend=blend,
    )
