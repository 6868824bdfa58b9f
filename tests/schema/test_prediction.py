"""Prediction API types built from their rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schema.prediction import PredictionModel


def _row(as_of: datetime, horizon_days: int, backtest: bool) -> dict[str, Any]:
    return {
        "id": 1, "kind": "CHURN", "version": 1, "active": True, "activated": True, "note": "",
        "metrics": {}, "features": [], "as_of": as_of, "horizon_days": horizon_days,
        "backtest": backtest, "train_from": None, "train_to": None, "validation_from": None,
        "validation_to": None, "train_samples": 1, "validation_samples": 1, "checksum": None,
        "trained_at": as_of,
    }


def test_a_model_older_than_its_horizon_is_stale_unless_a_backtest() -> None:
    now = datetime.now(UTC)
    assert not PredictionModel.from_row(_row(now - timedelta(days=89), 90, False)).stale
    assert PredictionModel.from_row(_row(now - timedelta(days=91), 90, False)).stale
    assert not PredictionModel.from_row(_row(now - timedelta(days=400), 90, True)).stale
