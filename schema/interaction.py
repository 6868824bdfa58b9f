"""Interactions: the type, filters, inputs and payloads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from db import channel_message as channel_messages
from db import interaction as interactions
from db.channel_enums import MESSAGING_CHANNELS
from db.sql import Row
from schema.customer import Customer
from schema.email_delivery import EmailDelivery, delivery_of
from schema.enums import Channel, Direction
from schema.errors import UserError
from schema.nested_filter import CustomerInteractionFilter
from schema.node import Node, decode_id, resolved, to_global_id
from schema.user import User

if TYPE_CHECKING:
    from schema.message import MessageDelivery

MessageDeliveryRef = Annotated["MessageDelivery", strawberry.lazy("schema.message")]


@strawberry.type(description="One contact with a customer on any channel.")
class Interaction(Node):
    id: strawberry.ID
    channel: Channel
    direction: Direction
    subject: str | None
    body: str
    occurred_at: datetime
    metadata: JSON
    created_at: datetime
    customer_id: strawberry.Private[int]
    created_by_id: strawberry.Private[int | None]
    deal_id: strawberry.ID | None = strawberry.field(
        default=None, description="The deal it is about (a note on a deal), if any.")
    company_id: strawberry.ID | None = strawberry.field(
        default=None, description="The company it is about (a note on a company), if any.")

    @classmethod
    def from_row(cls, row: Row) -> Interaction:
        """The interaction of a row; a row read for one query may leave out the columns of
        fields the query does not ask for (``compiled.columns``): those stay None."""
        get: Callable[[str], Any] = row.get
        return cls(
            id=to_global_id("Interaction", row["id"]), channel=get("channel"),
            direction=get("direction"), subject=get("subject"), body=get("body"),
            occurred_at=get("occurred_at"), metadata=get("metadata"),
            created_at=get("created_at"), customer_id=row["customer_id"],
            created_by_id=get("created_by_id"),
            deal_id=to_global_id("Deal", get("deal_id")) if get("deal_id") else None,
            company_id=to_global_id("Company", get("company_id")) if get("company_id") else None,
        )


    @strawberry.field
    async def customer(self, info: strawberry.Info) -> Customer | None:
        row = await info.context.loaders.customer.load(self.customer_id)
        return Customer.from_row(row) if row else None

    @strawberry.field(description="The user who recorded it (null for automated entries).")
    async def created_by(self, info: strawberry.Info) -> User | None:
        if self.created_by_id is None:
            return None
        row = await info.context.loaders.user.load(self.created_by_id)
        return User.from_row(row) if row else None

    @strawberry.field(description=(
        "Delivery of an outbound SMS, WhatsApp message, call, chat or social message; null"
        " otherwise."))
    async def message(self, info: strawberry.Info) -> MessageDeliveryRef | None:
        if self.direction != Direction.OUTBOUND or self.channel not in MESSAGING_CHANNELS:
            return None
        pk = decode_id(self.id, "Interaction")
        rows = await channel_messages.deliveries(org_id=info.context.loaders.org_id,
                                                 interaction_ids=[pk])
        return resolved(MessageDeliveryRef).from_row(rows[pk]) if pk in rows else None

    @strawberry.field(description="Delivery status of an outbound email; null otherwise.")
    async def email(self, info: strawberry.Info) -> EmailDelivery | None:
        return await delivery_of(info, self.id, self.channel, self.direction)


@strawberry.enum(description="Orderings of interaction lists.")
class InteractionOrderBy(Enum):
    OCCURRED_AT_DESC = "OCCURRED_AT_DESC"
    OCCURRED_AT_ASC = "OCCURRED_AT_ASC"


@strawberry.input(description="Which interactions to list; every given condition must hold.")
class InteractionFilter(CustomerInteractionFilter):
    customer_id: strawberry.ID | None = None
    deal_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only those about this deal (notes linked to it).")
    company_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only those about this company.")

    def to_filter(self, customer_ids: tuple[int, ...] = ()) -> interactions.InteractionFilter:
        if self.customer_id is not None:
            customer_ids = (decode_id(self.customer_id, "Customer", "filter.customerId"),)
        f = super().to_filter(customer_ids)
        return replace(
            f,
            deal_id=decode_id(self.deal_id, "Deal", "filter.dealId") if self.deal_id else None,
            company_id=decode_id(self.company_id, "Company", "filter.companyId")
            if self.company_id else None,
        )


@strawberry.input(description="An interaction to record.")
class LogInteractionInput:
    customer_id: strawberry.ID
    channel: Channel
    direction: Direction
    subject: str | None = None
    body: str | None = None
    occurred_at: datetime | None = strawberry.field(default=None, description="Defaults to now.")
    metadata: JSON | None = None
    deal_id: strawberry.ID | None = strawberry.field(
        default=None, description="A deal it is about (a note on a deal).")
    company_id: strawberry.ID | None = strawberry.field(
        default=None, description="A company it is about (a note on a company).")


@strawberry.type
class InteractionPayload:
    interaction: Interaction | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
