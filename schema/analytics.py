"""Dashboard aggregates: groups of customers and orders with their counts, sums and averages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

from db import stats
from db.sql import Row
from schema.customer import CustomerFilter
from schema.enums import LifecycleStage, OrderStatus
from schema.money import Money
from schema.node import to_global_id
from schema.user import User


@strawberry.enum(description="What customers can be grouped by.")
class CustomerGroupBy(Enum):
    STAGE = "STAGE"
    OWNER = "OWNER"
    SEGMENT = "SEGMENT"
    COUNTRY = "COUNTRY"
    MONTH = strawberry.enum_value("MONTH", description="The month (UTC) it was created in.")


@strawberry.enum(description="What orders can be grouped by (customer fields: of their customer).")
class OrderGroupBy(Enum):
    STAGE = "STAGE"
    OWNER = "OWNER"
    SEGMENT = "SEGMENT"
    COUNTRY = "COUNTRY"
    MONTH = strawberry.enum_value("MONTH", description="The month (UTC) it was placed in.")
    STATUS = "STATUS"


@strawberry.input(description="Which orders to aggregate; every given condition must hold.")
class OrderStatsFilter:
    customer: CustomerFilter | None = strawberry.field(
        default=None, description="Orders of these customers (default: all live customers)."
    )
    statuses: list[OrderStatus] | None = strawberry.field(
        default=None, description="Default: every status."
    )
    placed_after: datetime | None = None
    placed_before: datetime | None = None

    def to_scope(self) -> stats.OrderScope:
        return stats.OrderScope(
            customer=self.customer.to_filter() if self.customer else stats.OrderScope().customer,
            statuses=tuple(self.statuses or ()),
            placed_after=self.placed_after, placed_before=self.placed_before,
        )


@strawberry.interface(
    description="The key of a group: the fields grouped by are set (null meaning e.g. no owner "
    "or no segment), the others are null."
)
class StatsKey:
    stage: LifecycleStage | None
    segment: str | None
    country: str | None
    month: datetime | None
    owner_id: strawberry.ID | None = strawberry.field(
        description="The owner's global ID (null: unowned, or not grouped by OWNER)."
    )
    owner_pk: strawberry.Private[int | None]

    @strawberry.field(description="The owner of the group's customers.")
    async def owner(self, info: strawberry.Info) -> User | None:
        if self.owner_pk is None:
            return None
        row = await info.context.loaders.user.load(self.owner_pk)
        return User.from_row(row) if row else None


def _key_fields(row: Row) -> dict[str, Any]:
    owner = row["owner_id"]
    return {
        "stage": row["stage"], "segment": row["segment"], "country": row["country"],
        "month": row["month"], "owner_pk": owner,
        "owner_id": to_global_id("User", owner) if owner is not None else None,
    }


@strawberry.type(description="One group of customers.")
class CustomerStatsGroup(StatsKey):
    count: int
    scored_count: int = strawberry.field(description="How many have predictions.")
    average_churn_risk: float | None = strawberry.field(
        description="Mean churn risk of the scored ones."
    )
    expected_revenue: float | None = strawberry.field(
        description="Sum of expected revenue, in the organization's currency."
    )

    @classmethod
    def from_row(cls, row: Row) -> CustomerStatsGroup:
        return cls(
            **_key_fields(row), count=row["count"], scored_count=row["scored_count"],
            average_churn_risk=row["average_churn_risk"],
            expected_revenue=row["expected_revenue"],
        )


@strawberry.type(description="One group of orders in one currency.")
class OrderStatsGroup(StatsKey):
    status: OrderStatus | None
    currency: str
    count: int
    customer_count: int = strawberry.field(description="How many customers placed them.")
    total: Money
    average: Money
    converted_total: Money = strawberry.field(
        description="The orders in the organization's currency, each at the exchange rate in"
        " effect on its day (exchangeRates); orders without one are left out of this sum and"
        " counted in unconvertedCount, never valued wrongly."
    )
    unconverted_count: int = strawberry.field(
        description="Orders of the group no exchange rate covers (0 in the organization's"
        " currency): upload rates with uploadExchangeRates."
    )

    @classmethod
    def from_row(cls, row: Row) -> OrderStatsGroup:
        currency = row["currency"]
        return cls(
            converted_total=Money.of(Decimal(row["converted_total"] or 0).quantize(
                Decimal("0.0001")), row["org_currency"]),
            unconverted_count=row["unconverted_count"],
            **_key_fields(row), status=row["status"], currency=currency, count=row["count"],
            # only computed when the query selects it (see resolvers.analytics)
            customer_count=row.get("customer_count") or 0,
            total=Money.of(row["total"], currency),
            average=Money.of(Decimal(row["average"]).quantize(Decimal("0.0001")), currency),
        )


@strawberry.type(description="Customer groups in key order.")
class CustomerStats:
    groups: list[CustomerStatsGroup]
    truncated: bool = strawberry.field(description=f"More than {stats.MAX_GROUPS} groups exist.")


@strawberry.type(description="Order groups in key order, one per currency within each key.")
class OrderStats:
    groups: list[OrderStatsGroup]
    truncated: bool = strawberry.field(description=f"More than {stats.MAX_GROUPS} groups exist.")
