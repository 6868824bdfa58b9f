"""The table ``crm train --as-of`` prints: a backtest's predictions against what happened."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def backtest_table(run: dict[str, Any]) -> Table:
    """A backtest's report: per kind, its predictions as of then against what happened."""
    table = Table(title=f"Backtest as of {run['as_of']:%Y-%m-%d %H:%M} UTC,"
                        f" {run['horizon_days']}-day horizon: predicted vs what happened")
    for column in ("model", "measure", "predicted", "happened / score", "top decile lift"):
        table.add_column(column)
    for result in run["results"]:
        report = result.get("backtest")
        if not report:
            continue
        seen = f"{report['customers']} customers, {report['observed_days']} days seen"
        if result["kind"] == "CHURN" and "brier" in report:
            lift = report["lift"][0]["lift"] if report["lift"] else ""
            table.add_row("churn risk", f"ROC AUC ({seen})", "", str(report["roc_auc"]),
                          str(lift))
            table.add_row("", "Brier score", "", str(report["brier"]), "")
            for row in report["calibration"]:
                table.add_row("", f"calibration, decile {row['decile']}",
                              f"{row['predicted']:.3f}", f"{row['observed']:.3f}", "")
        if result["kind"] == "REVENUE":
            lift = report["lift"][0]["lift"] if report["lift"] else ""
            for name in ("revenue", "orders"):
                e = report[name]
                table.add_row(f"expected {name}", f"total ({seen})",
                              f"{e['predicted_total']:,.2f}", f"{e['actual_total']:,.2f}",
                              str(lift) if name == "revenue" else "")
                table.add_row("", "MAE / RMSE per customer", "",
                              f"{e['mae']:,.4f} / {e['rmse']:,.4f}", "")
    return table
