"""Conditions on a customer's nested lists: its interactions and its orders."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db import interaction as interactions
from db import order as orders
from schema.enums import Channel, Direction, OrderStatus


@strawberry.input(description="Conditions on a customer's interactions.")
class CustomerInteractionFilter:
    channels: list[Channel] | None = None
    direction: Direction | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None

    def to_filter(self, customer_ids: tuple[int, ...] = ()) -> interactions.InteractionFilter:
        return interactions.InteractionFilter(
            customer_ids=customer_ids, channels=tuple(self.channels or ()),
            direction=self.direction, occurred_after=self.occurred_after,
            occurred_before=self.occurred_before,
        )


@strawberry.input(description="Conditions on a customer's orders.")
class CustomerOrderFilter:
    statuses: list[OrderStatus] | None = None
    placed_after: datetime | None = None
    placed_before: datetime | None = None

    def to_filter(self, customer_ids: tuple[int, ...] = ()) -> orders.OrderFilter:
        return orders.OrderFilter(
            customer_ids=customer_ids, statuses=tuple(self.statuses or ()),
            placed_after=self.placed_after, placed_before=self.placed_before,
        )
