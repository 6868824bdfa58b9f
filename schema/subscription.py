"""Live interaction events: the subscription filter and the error of a subscriber left behind."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from db.events import EventFilter
from schema.enums import Channel, Direction
from schema.node import decode_id

SUBSCRIBER_TOO_SLOW = "SUBSCRIBER_TOO_SLOW"


@strawberry.input(description="Which interactions to stream; every given condition must hold.")
class InteractionSubscriptionFilter:
    customer_id: strawberry.ID | None = None
    channels: list[Channel] | None = None
    direction: Direction | None = None
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="The user who owns the interaction's customer."
    )

    def to_filter(self) -> EventFilter:
        """The filter the broker applies to each event."""
        return EventFilter(
            customer_id=decode_id(self.customer_id, "Customer", "filter.customerId")
            if self.customer_id is not None else None,
            channels=frozenset(self.channels or ()),
            direction=self.direction,
            owner_id=decode_id(self.owner_id, "User", "filter.ownerId")
            if self.owner_id is not None else None,
        )


def subscriber_too_slow(queue_size: int) -> GraphQLError:
    """The error that ends a subscription whose client could not keep up."""
    return GraphQLError(
        f"the subscriber fell more than {queue_size} events behind and was dropped;"
        " subscribe again (and refetch what you show) to continue",
        extensions={"code": SUBSCRIBER_TOO_SLOW},
    )
