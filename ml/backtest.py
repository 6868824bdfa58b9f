"""A backtest's report: what the models predicted as of a past date against what then happened.

Pure: it takes the scores made from the history before the as-of date and the history as it is
now. Per kind: churn risk by ROC AUC, Brier score and a calibration table; expected revenue and
orders by MAE, RMSE and totals; both by lift per decile (the share of what happened that the
customers ranked highest accounted for).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml.features import Floats, History, window_totals
from ml.scoring import Scores

DECILES = 10


def _deciles(ranking: Floats) -> list[Any]:
    """Row positions per decile, highest predictions first."""
    order = np.argsort(-ranking, kind="stable")
    return np.array_split(order, DECILES)


def _lift(predicted: Floats, actual: Floats) -> list[dict[str, float]]:
    total = float(actual.sum())
    out = []
    for i, rows in enumerate(_deciles(predicted), 1):
        if len(rows) == 0:
            continue
        share = float(actual[rows].sum()) / total if total > 0 else 0.0
        out.append({"decile": i, "customers": len(rows),
                    "predicted": round(float(predicted[rows].mean()), 4),
                    "actual": round(float(actual[rows].mean()), 4),
                    "share": round(share, 4), "lift": round(share * DECILES, 3)})
    return out


def _errors(actual: Floats, predicted: Floats) -> dict[str, float | None]:
    total = float(actual.sum())
    return {
        "mae": round(float(np.mean(np.abs(predicted - actual))), 4),
        "rmse": round(float(np.sqrt(np.mean((predicted - actual) ** 2))), 4),
        "predicted_total": round(float(predicted.sum()), 2),
        "actual_total": round(total, 2),
        "total_error": round(float(predicted.sum()) / total - 1, 4) if total > 0 else None,
    }


def _churn(risk: Floats, churned: Floats) -> dict[str, Any]:
    out: dict[str, Any] = {"churn_rate": round(float(churned.mean()), 4),
                           "brier": round(float(brier_score_loss(churned, risk)), 4)}
    out["roc_auc"] = (round(float(roc_auc_score(churned, risk)), 4)
                      if len(np.unique(churned)) == 2 else None)
    out["calibration"] = [
        {"decile": d["decile"], "customers": d["customers"], "predicted": d["predicted"],
         "observed": d["actual"]}
        for d in _lift(risk, churned)
    ]
    out["lift"] = _lift(risk, churned)
    return out


def report(
    scores: Scores, after: History, as_of: float, horizon: float, until: float
) -> dict[str, dict[str, Any]]:
    """Per kind, how the predictions as of ``as_of`` compare with ``[as_of, as_of + horizon)``
    as far as ``until`` (now) has seen it."""
    end = min(as_of + horizon, until)
    positions = np.searchsorted(after.customer_ids, scores.customer_ids)
    positions = np.minimum(positions, max(after.size - 1, 0))
    known = after.customer_ids[positions] == scores.customer_ids if after.size else \
        np.zeros(len(scores.customer_ids), bool)
    orders, money = window_totals(after, as_of, end)
    actual_orders = np.where(known, orders[positions] if after.size else 0.0, 0.0)
    actual_money = np.where(known, money[positions] if after.size else 0.0, 0.0)
    observed = {"customers": int(known.sum()), "observed_days": round(max(end - as_of, 0.0), 1),
                "horizon_days": horizon}
    out: dict[str, dict[str, Any]] = {}
    if scores.churn is not None:
        risk = scores.churn[known]
        churned = (actual_orders[known] == 0).astype(float)
        out["CHURN"] = {**observed, **_churn(risk, churned)} if len(risk) else observed
    if scores.revenue is not None and scores.orders is not None:
        out["REVENUE"] = {
            **observed,
            "revenue": _errors(actual_money[known], scores.revenue[known]),
            "orders": _errors(actual_orders[known], scores.orders[known]),
            "lift": _lift(scores.revenue[known], actual_money[known]),
        }
    return out
