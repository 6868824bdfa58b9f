"""Predictions in the graph: customer scores, models, training runs, segments and the forecast."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from db.sql import Row
from schema.errors import UserError
from schema.money import Money
from schema.node import Node, to_global_id


@strawberry.enum(description="What a model predicts.")
class ModelKind(Enum):
    CHURN = "CHURN"
    REVENUE = "REVENUE"
    SEGMENTS = "SEGMENTS"
    FORECAST = "FORECAST"
    RECOMMENDATIONS = "RECOMMENDATIONS"
    SCORE = "SCORE"


@strawberry.enum
class TrainingStatus(Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.enum(description="What became of one kind of model in a training run.")
class TrainingOutcome(Enum):
    ACTIVATED = "ACTIVATED"
    NOT_ACTIVATED = "NOT_ACTIVATED"
    NOT_ENOUGH_DATA = "NOT_ENOUGH_DATA"


@strawberry.enum
class ReasonDirection(Enum):
    UP = "UP"
    DOWN = "DOWN"


def _money(value: float | None, currency: str) -> Money | None:
    return None if value is None else Money.of(Decimal(str(round(value, 2))), currency)


@strawberry.enum(description="Which prediction a reason explains.")
class PredictionOutput(Enum):
    CHURN_RISK = "CHURN_RISK"
    EXPECTED_REVENUE = "EXPECTED_REVENUE"


@strawberry.type(description="Something about the customer that pushed a prediction up or down.")
class PredictionReason:
    feature: str
    direction: ReasonDirection
    weight: float = strawberry.field(
        description="How much it moved the prediction, in the prediction's units."
    )
    about: PredictionOutput = strawberry.field(description="The prediction it explains.")
    text: str = strawberry.field(description="The reason in words, for a salesperson.")


def _reason(r: dict[str, Any]) -> PredictionReason:
    about = PredictionOutput(r.get("about", "CHURN_RISK"))
    direction = ReasonDirection(r["direction"])
    verb = "raises" if direction is ReasonDirection.UP else "lowers"
    noun = "churn risk" if about is PredictionOutput.CHURN_RISK else "expected revenue"
    text = r.get("text") or f"{r['feature'].replace('_', ' ')} {verb} {noun}"
    return PredictionReason(feature=r["feature"], direction=direction, weight=r["weight"],
                            about=about, text=text)


@strawberry.type(description="What the active models expect of a customer.")
class CustomerPrediction:
    churn_risk: float | None = strawberry.field(
        description="Probability of no PAID order within the horizon (null: no active model)."
    )
    expected_revenue: Money | None = strawberry.field(
        description="Expected PAID order value within the horizon, in the org's currency."
    )
    expected_orders: float | None
    segment: str | None
    reasons: list[PredictionReason]
    model_version: str = strawberry.field(description="The model versions that scored it.")
    as_of: datetime
    horizon_days: int
    scored_at: datetime

    @classmethod
    def from_row(cls, row: Row, currency: str) -> CustomerPrediction:
        return cls(
            churn_risk=row["churn_risk"],
            expected_revenue=_money(row["expected_revenue"], currency),
            expected_orders=row["expected_orders"], segment=row["segment"],
            reasons=[_reason(r) for r in row["reasons"] or []],
            model_version=row["model_version"], as_of=row["as_of"],
            horizon_days=row["horizon_days"], scored_at=row["scored_at"],
        )


@strawberry.type(description="A span of time, start included and end excluded.")
class TimeWindow:
    start: datetime
    end: datetime


def _window(start: datetime | None, end: datetime | None) -> TimeWindow | None:
    return TimeWindow(start=start, end=end) if start and end else None


@strawberry.type(description="One trained version of a model, with how it did on validation.")
class PredictionModel(Node):
    id: strawberry.ID
    kind: ModelKind
    version: int
    active: bool
    activated: bool = strawberry.field(description="Whether it beat its baseline when trained.")
    note: str
    metrics: JSON = strawberry.field(description="Validation metrics, baselines, importances.")
    features: list[str]
    as_of: datetime
    horizon_days: int
    training_window: TimeWindow | None
    validation_window: TimeWindow | None
    train_samples: int
    validation_samples: int
    checksum: str | None = strawberry.field(description="SHA-256 of the stored artifact.")
    trained_at: datetime
    stale: bool = strawberry.field(description=(
        "Trained on data older than its horizon: the window it predicts has passed, so it"
        " should be retrained (the server does so every CRM_ML_RETRAIN_INTERVAL)."
        " Never set for backtests."
    ))

    @classmethod
    def from_row(cls, row: Row) -> PredictionModel:
        return cls(
            id=to_global_id("PredictionModel", row["id"]), kind=ModelKind(row["kind"]),
            version=row["version"], active=row["active"], activated=row["activated"],
            note=row["note"], metrics=row["metrics"], features=list(row["features"] or []),
            as_of=row["as_of"], horizon_days=row["horizon_days"],
            training_window=_window(row["train_from"], row["train_to"]),
            validation_window=_window(row["validation_from"], row["validation_to"]),
            train_samples=row["train_samples"], validation_samples=row["validation_samples"],
            checksum=row["checksum"], trained_at=row["trained_at"],
            stale=not row["backtest"]
            and row["as_of"] + timedelta(days=row["horizon_days"]) < datetime.now(UTC),
        )


@strawberry.type(description="What a training run did for one kind of model.")
class TrainingResult:
    kind: ModelKind
    outcome: TrainingOutcome
    message: str
    version: int | None = strawberry.field(description="The version it activated, if any.")
    metrics: JSON
    backtest: JSON | None = strawberry.field(
        default=None,
        description="Backtests only: its predictions as of the run's date against what then"
        " happened (churn: ROC AUC, Brier, calibration and lift by decile; revenue and orders:"
        " MAE, RMSE, totals and lift by decile).",
    )
    prediction: str | None = strawberry.field(
        default=None, description="SCORE: the name of the custom prediction."
    )


@strawberry.type(description="A request to train the organization's models, and its progress.")
class TrainingRun(Node):
    id: strawberry.ID
    status: TrainingStatus
    progress: float = strawberry.field(description="From 0 to 1.")
    stage: str
    as_of: datetime
    horizon_days: int
    backtest: bool = strawberry.field(
        description="A backtest: trained and scored as of a past date, compared with what then"
        " happened; it never changes the live models or scores."
    )
    results: list[TrainingResult]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @strawberry.field(description="Validation metrics by model kind (null until finished).")
    def metrics(self) -> JSON | None:
        if not self.results:
            return None
        return JSON({r.kind.value + (f":{r.prediction}" if r.prediction else ""): r.metrics
                     for r in self.results})

    @classmethod
    def from_row(cls, row: Row) -> TrainingRun:
        return cls(
            id=to_global_id("TrainingRun", row["id"]), status=TrainingStatus(row["status"]),
            progress=row["progress"], stage=row["stage"], as_of=row["as_of"],
            horizon_days=row["horizon_days"], backtest=row["backtest"],
            results=[
                TrainingResult(kind=ModelKind(r["kind"]), outcome=TrainingOutcome(r["status"]),
                               message=r["message"], version=r.get("version"),
                               prediction=r.get("prediction"),
                               metrics=JSON(r.get("metrics") or {}),
                               backtest=JSON(r["backtest"]) if r.get("backtest") else None)
                for r in row["results"] or []
            ],
            error=row["error"], created_at=row["created_at"], started_at=row["started_at"],
            finished_at=row["finished_at"],
        )


@strawberry.type(description="Averages of a segment's customers when the segments were found.")
class SegmentProfile:
    recency_days: float
    orders_last_year: float
    revenue_last_year: Money
    interactions_last_90_days: float
    orders_total: float
    tenure_days: float
    share: float = strawberry.field(description="Fraction of customers in it at training time.")


@strawberry.type(description="A customer segment of the active segmentation.")
class Segment:
    name: str
    size: int = strawberry.field(description="Live customers in it now.")
    profile: SegmentProfile

    @classmethod
    def of(cls, name: str, size: int, p: dict[str, float], currency: str) -> Segment:
        return cls(name=name, size=size, profile=SegmentProfile(
            recency_days=p["recency_days"], orders_last_year=p["orders_365d"],
            revenue_last_year=Money.of(Decimal(str(p["revenue_365d"])), currency),
            interactions_last_90_days=p["interactions_90d"], orders_total=p["orders_total"],
            tenure_days=p["tenure_days"], share=p["share"],
        ))


@strawberry.type(description="One month of the sales forecast.")
class ForecastMonth:
    month: date = strawberry.field(description="The first day of the month.")
    expected: Money
    low: Money = strawberry.field(description="Lower end of the prediction interval.")
    high: Money


@strawberry.enum
class ForecastStatus(Enum):
    AVAILABLE = "AVAILABLE"
    NOT_ENOUGH_DATA = "NOT_ENOUGH_DATA"


@strawberry.type(description="Monthly PAID order totals ahead, in the organization's currency.")
class SalesForecast:
    status: ForecastStatus
    message: str
    currency: str
    method: str | None
    interval_level: float | None = strawberry.field(description="E.g. 0.9 for 90 % intervals.")
    as_of: datetime | None
    model_version: int | None
    months: list[ForecastMonth]
    unconverted_orders: int = strawberry.field(
        default=0, description="PAID orders in other currencies the model learnt without"
        " (no exchange rate covered their day when it was trained): upload rates with"
        " uploadExchangeRates and retrain to count them."
    )


@strawberry.input(description="Train every model kind; by default on everything known now.")
class TrainModelsInput:
    as_of: datetime | None = strawberry.field(
        default=None,
        description="A backtest: learn only from what was known at this past moment, predict as"
        " of then and report how that compares with what happened; the live models and scores"
        " stay as they are.",
    )
    horizon_days: int | None = strawberry.field(
        default=None, description="Prediction horizon in days (default: the configured one)."
    )


@strawberry.type
class TrainModelsPayload:
    run: TrainingRun | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
