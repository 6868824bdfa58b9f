"""Filter inputs on a customer's relations: order facts, interaction facts, owner fields."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry

from core.errors import AppError, ErrorCode
from db import customer_filter as facts
from db import deal_facts
from schema.enums import Channel, DealStatus, Direction, OrderStatus, Role
from schema.node import decode_id

MAX_DAYS = 36_500
MAX_FILTER_DEPTH = facts.MAX_DEPTH


@strawberry.input(description="Inclusive bounds on an amount; either may be left open.")
class AmountRange:
    gte: Decimal | None = None
    lte: Decimal | None = None

    def to_range(self) -> facts.Range:
        return facts.Range(gte=self.gte, lte=self.lte)


@strawberry.input(description="Inclusive bounds on a count; either may be left open.")
class CountRange:
    gte: int | None = None
    lte: int | None = None

    def to_range(self) -> facts.Range:
        return facts.Range(gte=self.gte, lte=self.lte)


@strawberry.input(
    description="Conditions on a customer's orders; all must hold. Only orders with one of "
    "`statuses` (default PAID) placed in [since, until) count for every condition here."
)
class OrderFactsFilter:
    statuses: list[OrderStatus] | None = None
    since: datetime | None = None
    until: datetime | None = None
    currency: str | None = strawberry.field(
        default=None,
        description="Currency of amount conditions (default: the organization's currency).",
    )
    total_spent: AmountRange | None = strawberry.field(
        default=None, description="Sum of the counted orders (0 without any)."
    )
    has_order_over: Decimal | None = strawberry.field(
        default=None, description="Has a counted order of more than this amount."
    )
    count: CountRange | None = strawberry.field(
        default=None, description="How many orders count."
    )
    last_order_before: datetime | None = strawberry.field(
        default=None, description="Has counted orders, the latest placed before this time."
    )
    last_order_after: datetime | None = strawberry.field(
        default=None, description="The latest counted order was placed at or after this time."
    )

    def to_facts(self) -> facts.OrderFacts:
        currency = self.currency.strip().upper() if self.currency else None
        if currency is not None and (len(currency) != 3 or not currency.isalpha()):
            raise _bad("currency must be an ISO 4217 code", "orders", "currency")
        return facts.OrderFacts(
            statuses=tuple(self.statuses) if self.statuses else (OrderStatus.PAID,),
            since=self.since, until=self.until, currency=currency,
            total_spent=self.total_spent.to_range() if self.total_spent else None,
            has_order_over=self.has_order_over,
            count=self.count.to_range() if self.count else None,
            last_order_before=self.last_order_before, last_order_after=self.last_order_after,
        )


@strawberry.input(
    description="Conditions on a customer's interactions; all must hold. Only interactions on "
    "`channels` (default all), in `direction` (default both) and in [since, until) count."
)
class InteractionFactsFilter:
    channels: list[Channel] | None = None
    direction: Direction | None = None
    since: datetime | None = None
    until: datetime | None = None
    count: CountRange | None = None
    none_within_days: int | None = strawberry.field(
        default=None, description="No counted interaction in the last N days."
    )
    no_inbound_within_days: int | None = strawberry.field(
        default=None, description="No counted INBOUND interaction in the last N days."
    )
    last_before: datetime | None = strawberry.field(
        default=None, description="Has counted interactions, the latest before this time."
    )
    last_after: datetime | None = strawberry.field(
        default=None, description="The latest counted interaction is at or after this time."
    )

    def to_facts(self) -> facts.InteractionFacts:
        for name, days in (("noneWithinDays", self.none_within_days),
                           ("noInboundWithinDays", self.no_inbound_within_days)):
            if days is not None and not 0 <= days <= MAX_DAYS:
                raise _bad(f"{name} must be between 0 and {MAX_DAYS}", "interactions", name)
        return facts.InteractionFacts(
            channels=tuple(self.channels or ()), direction=self.direction,
            since=self.since, until=self.until,
            count=self.count.to_range() if self.count else None,
            none_within_days=self.none_within_days,
            no_inbound_within_days=self.no_inbound_within_days,
            last_before=self.last_before, last_after=self.last_after,
        )


@strawberry.input(description="Conditions on the customer's owner; unowned customers match none.")
class OwnerFilter:
    email: str | None = strawberry.field(default=None, description="Exact, case-insensitive.")
    role: Role | None = None
    name: str | None = strawberry.field(
        default=None, description="Part of the name (case-insensitive)."
    )

    def to_facts(self) -> facts.OwnerFacts:
        return facts.OwnerFacts(email=self.email, role=self.role, name=self.name)


@strawberry.input(
    description="Conditions on the deals a customer takes part in; all must hold. Only live "
    "deals with one of `statuses` (default OPEN), in the pipeline and stages given, count."
)
class DealFactsFilter:
    statuses: list[DealStatus] | None = None  # type: ignore[valid-type]
    pipeline_id: strawberry.ID | None = None
    stage_ids: list[strawberry.ID] | None = None
    currency: str | None = strawberry.field(
        default=None, description="Only deals in this currency count (ISO 4217)."
    )
    amount_over: Decimal | None = strawberry.field(
        default=None, description="Only deals of more than this amount count."
    )
    expected_close_after: date | None = strawberry.field(default=None, description="Inclusive.")
    expected_close_before: date | None = strawberry.field(default=None, description="Exclusive.")
    count: CountRange | None = strawberry.field(
        default=None, description="How many deals count (default: at least one)."
    )

    def to_facts(self) -> deal_facts.DealFacts:
        currency = self.currency.strip().upper() if self.currency else None
        if currency is not None and (len(currency) != 3 or not currency.isalpha()):
            raise _bad("currency must be an ISO 4217 code", "deals", "currency")
        if self.amount_over is not None and not self.amount_over.is_finite():
            raise _bad("amountOver must be a number", "deals", "amountOver")
        return deal_facts.DealFacts(
            statuses=tuple(self.statuses) if self.statuses else deal_facts.DealFacts.statuses,
            pipeline_id=decode_id(self.pipeline_id, "Pipeline", "filter.deals.pipelineId")
            if self.pipeline_id else None,
            stage_ids=tuple(decode_id(i, "PipelineStage", "filter.deals.stageIds")
                            for i in self.stage_ids or ()),
            currency=currency, amount_over=self.amount_over,
            expected_close_after=self.expected_close_after,
            expected_close_before=self.expected_close_before,
            min_count=self.count.gte if self.count else None,
            max_count=self.count.lte if self.count else None,
        )


def _bad(message: str, *path: str) -> AppError:
    return AppError(ErrorCode.BAD_USER_INPUT, message, ["filter", *path])
