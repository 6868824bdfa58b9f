"""Deal figures: grouped sums with the weighted pipeline value, and the deal-based forecast."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

from schema.company import load_user
from schema.money import ConvertedMoney, Money
from schema.pipeline import PipelineStage, load_stage
from schema.user import User

_PLACES = Decimal("0.0001")


@strawberry.enum(description="What deal stats are grouped by.")
class DealGroupBy(Enum):
    STAGE = "STAGE"
    OWNER = "OWNER"
    MONTH = strawberry.enum_value("MONTH", description="Expected close month.")


CONVERTED = ("In the organization's currency, each deal at the exchange rate of the day it "
             "closed (today while open); what no rate covers is listed per currency.")


def _sums(rows: Sequence[dict[str, Any]]) -> tuple[int, list[Money], list[Money]]:
    return (
        sum(r["n"] for r in rows),
        [Money.of(r["total"], r["currency"]) for r in rows],
        [Money.of(r["weighted"].quantize(_PLACES), r["currency"]) for r in rows],
    )


def converted(
    rows: Sequence[dict[str, Any]], org_currency: str
) -> tuple[ConvertedMoney, ConvertedMoney]:
    """The amount and weighted amount of deal rows (see db.deal.converted_sums) in the
    organization's currency."""
    return (
        ConvertedMoney.of(org_currency, (
            (r["currency"], r["total_converted"], r["total_unconverted"]) for r in rows)),
        ConvertedMoney.of(org_currency, (
            (r["currency"], r["weighted_converted"], r["weighted_unconverted"]) for r in rows),
            _PLACES),
    )


@strawberry.type(description="The deals of one group: how many, their sum and weighted "
                 "pipeline value (amount x probability), one entry per currency.")
class DealGroupStats:
    count: int
    amount: list[Money]
    weighted_amount: list[Money]
    converted_amount: ConvertedMoney = strawberry.field(description=CONVERTED)
    converted_weighted_amount: ConvertedMoney = strawberry.field(description=CONVERTED)
    month: date | None = strawberry.field(
        description="The expected close month's first day (MONTH; null: no date).")
    stage_pk: strawberry.Private[int | None]
    owner_pk: strawberry.Private[int | None]

    @classmethod
    def of(
        cls, group_by: DealGroupBy, rows: Sequence[dict[str, Any]], org_currency: str
    ) -> DealGroupStats:
        """One group's stats from its rows (one per currency)."""
        key = rows[0]["group_key"]
        count, amount, weighted = _sums(rows)
        converted_amount, converted_weighted = converted(rows, org_currency)
        return cls(
            count=count, amount=amount, weighted_amount=weighted,
            converted_amount=converted_amount, converted_weighted_amount=converted_weighted,
            month=key if group_by is DealGroupBy.MONTH else None,
            stage_pk=key if group_by is DealGroupBy.STAGE else None,
            owner_pk=key if group_by is DealGroupBy.OWNER else None,
        )

    @strawberry.field(description="The stage (STAGE).")
    async def stage(self, info: strawberry.Info) -> PipelineStage | None:
        return await load_stage(info, self.stage_pk) if self.stage_pk is not None else None

    @strawberry.field(description="The owner (OWNER; null: unowned deals).")
    async def owner(self, info: strawberry.Info) -> User | None:
        return await load_user(info, self.owner_pk)


@strawberry.type(description="Open deals expected to close in one month, weighted by "
                 "probability, one entry per currency.")
class DealForecastMonth:
    month: date = strawberry.field(description="The month's first day.")
    count: int
    amount: list[Money]
    weighted_amount: list[Money] = strawberry.field(
        description="Sum of amount x probability: the revenue to expect.")
    converted_amount: ConvertedMoney = strawberry.field(description=CONVERTED)
    converted_weighted_amount: ConvertedMoney = strawberry.field(description=CONVERTED)


@strawberry.type(description="Revenue to expect from open deals by expected close month "
                 "(sum of amount x probability), beside the order-based salesForecast.")
class DealForecast:
    months: list[DealForecastMonth]
    overdue: DealForecastMonth | None = strawberry.field(
        description="Open deals whose expected close date has passed (month: the first).")
    undated_count: int = strawberry.field(
        description="Open deals without an expected close date (not forecast).")

    @classmethod
    def of(
        cls, start: date, months: list[date], rows: Sequence[dict[str, Any]], org_currency: str
    ) -> DealForecast:
        """The forecast from per-bucket rows (see db.deal_stats.forecast)."""
        def month_of(day: date, chosen: list[dict[str, Any]]) -> DealForecastMonth:
            count, amount, weighted = _sums(chosen)
            converted_amount, converted_weighted = converted(chosen, org_currency)
            return DealForecastMonth(month=day, count=count, amount=amount,
                                     weighted_amount=weighted, converted_amount=converted_amount,
                                     converted_weighted_amount=converted_weighted)

        overdue = [r for r in rows if r["bucket"] == "OVERDUE"]
        return cls(
            months=[month_of(m, [r for r in rows if r["month"] == m]) for m in months],
            overdue=month_of(start, overdue) if overdue else None,
            undated_count=sum(r["n"] for r in rows if r["bucket"] == "UNDATED"),
        )
