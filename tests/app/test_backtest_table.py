"""The backtest table of ``crm train --as-of``."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from app.backtest_table import backtest_table


def test_the_table_shows_every_measure_of_the_report() -> None:
    errors = {"mae": 0.4, "rmse": 0.8, "predicted_total": 120.0, "actual_total": 100.0}
    run = {
        "as_of": datetime(2026, 1, 31, tzinfo=UTC), "horizon_days": 90,
        "results": [
            {"kind": "CHURN", "backtest": {
                "customers": 50, "observed_days": 90.0, "roc_auc": 0.81, "brier": 0.12,
                "lift": [{"lift": 2.5}],
                "calibration": [{"decile": 1, "predicted": 0.9, "observed": 0.85}]}},
            {"kind": "REVENUE", "backtest": {
                "customers": 50, "observed_days": 90.0, "revenue": errors, "orders": errors,
                "lift": [{"lift": 3.1}]}},
            {"kind": "SEGMENTS", "backtest": None},
        ],
    }
    console = Console(record=True, width=160)
    console.print(backtest_table(run))
    text = console.export_text()
    assert "Backtest as of 2026-01-31 00:00 UTC, 90-day horizon" in text
    for expected in ("ROC AUC", "0.81", "Brier score", "calibration, decile 1", "0.850",
                     "expected revenue", "120.00", "expected orders", "3.1", "0.4000 / 0.8000"):
        assert expected in text
