"""Prediction queries and the trainModels mutation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry

from auth.permissions import IsAdmin, IsAuthenticated
from core.errors import AppError, ErrorCode
from db import prediction as predictions
from db import prediction_registry as registry
from ml import jobs
from ml import registry as artifacts
from resolvers.common import attempt
from schema.money import Money
from schema.node import decode_id
from schema.prediction import (
    ForecastMonth,
    ForecastStatus,
    ModelKind,
    PredictionModel,
    SalesForecast,
    Segment,
    TrainingRun,
    TrainModelsInput,
    TrainModelsPayload,
)

MIN_HORIZON, MAX_HORIZON = 7, 730
# training windows reach back from asOf: near the year 1 their dates overflow in the worker
# (and no CRM history predates the Unix epoch)
EARLIEST_AS_OF = datetime(1971, 1, 1, tzinfo=UTC)


def _org(info: strawberry.Info) -> int:
    return int(info.context.require_viewer().organization_id)


def _training_args(
    input: TrainModelsInput | None, default_horizon: int
) -> tuple[datetime, int, bool]:
    horizon = input.horizon_days if input and input.horizon_days is not None else default_horizon
    if not MIN_HORIZON <= horizon <= MAX_HORIZON:
        raise AppError(ErrorCode.BAD_USER_INPUT,
                       f"horizonDays must be between {MIN_HORIZON} and {MAX_HORIZON}",
                       ["input", "horizonDays"])
    now = datetime.now(UTC)
    as_of = input.as_of if input and input.as_of is not None else None
    if as_of is not None and (as_of.tzinfo is None or as_of > now):
        raise AppError(ErrorCode.BAD_USER_INPUT, "asOf must be a past moment with a time zone",
                       ["input", "asOf"])
    if as_of is not None and as_of < EARLIEST_AS_OF:
        raise AppError(ErrorCode.BAD_USER_INPUT,
                       f"asOf must be after {EARLIEST_AS_OF.date().isoformat()}", ["input", "asOf"])
    return as_of or now, horizon, as_of is not None


@strawberry.type
class PredictionQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def training_run(self, info: strawberry.Info, id: strawberry.ID) -> TrainingRun | None:
        """A training run of your organization, with its progress and results."""
        row = await predictions.get_run(run_id=decode_id(id, "TrainingRun"), org_id=_org(info))
        return TrainingRun.from_row(row) if row else None

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def latest_training_run(self, info: strawberry.Info) -> TrainingRun | None:
        """Your organization's most recent training run."""
        row = await predictions.latest_run(org_id=_org(info))
        return TrainingRun.from_row(row) if row else None

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def models(
        self, info: strawberry.Info, kind: ModelKind | None = None, active_only: bool = False
    ) -> list[PredictionModel]:
        """Trained model versions, newest first within each kind."""
        rows = await registry.list_models(
            org_id=_org(info), kinds=[kind.value] if kind else None, active_only=active_only
        )
        return [PredictionModel.from_row(row) for row in rows]

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def segments(self, info: strawberry.Info) -> list[Segment]:
        """The active segmentation's segments, largest first (empty until there is one)."""
        org_id = _org(info)
        active = await registry.list_models(org_id=org_id, kinds=["SEGMENTS"], active_only=True)
        if not active:
            return []
        profiles: dict[str, Any] = active[0]["metrics"].get("profiles", {})
        sizes = await predictions.segment_sizes(org_id=org_id)
        currency = await predictions.org_currency(org_id)
        segments = [Segment.of(name, sizes.get(name, 0), p, currency)
                    for name, p in profiles.items()]
        return sorted(segments, key=lambda s: (-s.size, s.name))

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def sales_forecast(self, info: strawberry.Info, months: int = 6) -> SalesForecast:
        """Monthly PAID order totals for the next 1 to 12 months, with 90 % intervals."""
        if not 1 <= months <= 12:
            raise AppError(ErrorCode.BAD_USER_INPUT, "months must be between 1 and 12",
                           ["months"])
        org_id = _org(info)
        currency = await predictions.org_currency(org_id)
        active = await registry.active_models(org_id=org_id, kinds=["FORECAST"])
        row = active.get("FORECAST")
        if row is None:
            return SalesForecast(
                status=ForecastStatus.NOT_ENOUGH_DATA, currency=currency, method=None,
                message=await _why_no_forecast(org_id), interval_level=None, as_of=None,
                model_version=None, months=[],
            )
        forecast = artifacts.load(row["artifact"], row["checksum"])
        return SalesForecast(
            status=ForecastStatus.AVAILABLE, message=row["note"], currency=forecast["currency"],
            method=forecast["method"], interval_level=forecast["level"], as_of=row["as_of"],
            model_version=row["version"],
            months=[_month(m, forecast["currency"]) for m in forecast["months"][:months]],
            unconverted_orders=int(forecast.get("unconverted_orders", 0)),
        )


def _month(m: dict[str, Any], currency: str) -> ForecastMonth:
    from decimal import Decimal

    def money(value: float) -> Money:
        return Money.of(Decimal(str(value)), currency)

    return ForecastMonth(
        month=m["month"], expected=money(m["expected"]), low=money(m["low"]), high=money(m["high"])
    )


async def _why_no_forecast(org_id: int) -> str:
    run = await predictions.latest_run(org_id=org_id)
    for result in (run or {}).get("results") or []:
        if result["kind"] == "FORECAST":
            return str(result["message"])
    return "no models trained yet: run trainModels"


@strawberry.type
class PredictionMutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def train_models(
        self, info: strawberry.Info, input: TrainModelsInput | None = None
    ) -> TrainModelsPayload:
        """Start training in a worker process and return at once; follow it with trainingRun.

        While a run is in flight, the organization's running run is returned instead.
        """
        viewer = info.context.require_viewer()
        settings = info.context.settings

        async def work() -> dict[str, Any]:
            as_of, horizon, backtest = _training_args(input, settings.ml_horizon_days)
            row, created = await predictions.start_run(
                org_id=viewer.organization_id, user_id=viewer.user_id, as_of=as_of,
                horizon_days=horizon, backtest=backtest,
            )
            if created:
                url = info.context.request.app.state.database_url
                jobs.trainer_for(url, settings).start(row["id"])
            return row

        row, errors = await attempt(work)
        return TrainModelsPayload(run=TrainingRun.from_row(row) if row else None, errors=errors)
