"""Customers: the type, its nested connections and summaries, filters, inputs and payloads."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from db import channel_contact as contacts
from db import company_membership as memberships
from db import conversation as conversations
from db import customer as customers
from db import customer_filter as facts
from db import interaction as interactions
from db import order as orders
from db.sql import Row
from schema.custom_field import CustomFieldCondition
from schema.customer_filter import (
    MAX_FILTER_DEPTH,
    DealFactsFilter,
    InteractionFactsFilter,
    OrderFactsFilter,
    OwnerFilter,
)
from schema.enums import Channel, CustomerKind, LifecycleStage
from schema.errors import UserError
from schema.input_conversion import planned
from schema.money import ConvertedMoney, Money
from schema.nested_filter import CustomerInteractionFilter, CustomerOrderFilter
from schema.node import Node, decode_id, resolved, to_global_id
from schema.pagination import Connection, child_connection, page_args_for
from schema.prediction import CustomerPrediction
from schema.prediction_score import CustomerScore, ScoreFilter
from schema.recommendation import Recommendation, RecommendationFilter, for_customer
from schema.user import User

if TYPE_CHECKING:
    from schema.company import CompanyMembership
    from schema.interaction import Interaction, InteractionOrderBy
    from schema.order import Order, OrderOrderBy

InteractionRef = Annotated["Interaction", strawberry.lazy("schema.interaction")]
InteractionOrderByRef = Annotated["InteractionOrderBy", strawberry.lazy("schema.interaction")]
OrderRef = Annotated["Order", strawberry.lazy("schema.order")]
OrderOrderByRef = Annotated["OrderOrderBy", strawberry.lazy("schema.order")]
MembershipRef = Annotated["CompanyMembership", strawberry.lazy("schema.company")]


@strawberry.type(description="A postal address.")
class Address:
    street: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2 code.")


@strawberry.type(description="A person or company the organization sells to.")
class Customer(Node):
    id: strawberry.ID
    kind: CustomerKind
    name: str
    email: str | None
    phone: str | None = strawberry.field(description="E.164, e.g. +4930123456.")
    company: str | None
    address: Address
    stage: LifecycleStage
    tags: list[str]
    custom_fields: JSON
    external_ref: str | None = strawberry.field(description="The id in a partner system (ERP).")
    email_opt_out: bool
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    pk: strawberry.Private[int]
    owner_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: Row) -> Customer:
        return cls(
            id=to_global_id("Customer", row["id"]), kind=row["kind"], name=row["name"],
            email=row["email"], phone=row["phone"], company=row["company"],
            address=Address(
                street=row["street"], city=row["city"], region=row["region"],
                postal_code=row["postal_code"], country=row["country"],
            ),
            stage=row["stage"], tags=row["tags"] or [], custom_fields=row["custom_fields"],
            external_ref=row["external_ref"], email_opt_out=row["email_opt_out"],
            created_at=row["created_at"], updated_at=row["updated_at"],
            deleted_at=row["deleted_at"], pk=row["id"], owner_id=row["owner_id"],
        )

    @strawberry.field(description="The user responsible for this customer.")
    async def owner(self, info: strawberry.Info) -> User | None:
        if self.owner_id is None:
            return None
        row = await info.context.loaders.user.load(self.owner_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="Interactions with this customer, latest first by default.")
    async def interactions(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: CustomerInteractionFilter | None = None,
        order_by: InteractionOrderByRef | None = None,
    ) -> Connection[InteractionRef]:
        sort = interactions.SORTS[order_by.value if order_by else "OCCURRED_AT_DESC"]
        f = filter.to_filter() if filter else interactions.InteractionFilter()
        org_id = info.context.loaders.org_id
        return await child_connection(
            info, self.pk, source=lambda: interactions.source(org_id, f), parent="customer_id",
            sort=sort, args=page_args_for(info, sort, first, after, last, before),
            filter_key=f, node_of=resolved(InteractionRef).from_row,
        )

    @strawberry.field(description=(
        "The thread with this customer across channels (SMS, WhatsApp, calls, chat, social,"
        " email), oldest first; only one channel's when given."))
    async def conversation(
        self, info: strawberry.Info, channel: Channel | None = None, first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[InteractionRef]:
        org_id = info.context.loaders.org_id
        f = conversations.thread_filter(channel)
        return await child_connection(
            info, self.pk, source=lambda: interactions.source(org_id, f), parent="customer_id",
            sort=conversations.SORT,
            args=page_args_for(info, conversations.SORT, first, after, last, before),
            filter_key=f, node_of=resolved(InteractionRef).from_row,
        )

    @strawberry.field(description="Inbound messages you have not read yet (see markRead); null"
                      " for API keys.")
    async def unread_count(self, info: strawberry.Info) -> int | None:
        user_id = info.context.require_viewer().user_id
        if user_id is None:
            return None
        counts = await conversations.unread_counts(user_id=user_id, customer_ids=[self.pk])
        return counts[self.pk]

    @strawberry.field(description="Channels the customer opted out of (a STOP reply ...).")
    async def opted_out_channels(self) -> list[Channel]:
        return [Channel(c) for c in await contacts.opted_out_channels(customer_id=self.pk)]

    @strawberry.field(description="Orders of this customer, latest first by default.")
    async def orders(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: CustomerOrderFilter | None = None,
        order_by: OrderOrderByRef | None = None,
    ) -> Connection[OrderRef]:
        sort = orders.SORTS[order_by.value if order_by else "PLACED_AT_DESC"]
        f = filter.to_filter() if filter else orders.OrderFilter()
        org_id = info.context.loaders.org_id
        return await child_connection(
            info, self.pk, source=lambda: orders.source(org_id, f), parent="customer_id",
            sort=sort, args=page_args_for(info, sort, first, after, last, before),
            filter_key=f, node_of=resolved(OrderRef).from_row,
        )

    async def _stats(self, info: strawberry.Info) -> customers.CustomerStats:
        return await info.context.loaders.customer_stats.load(self.pk) or customers.CustomerStats()

    @strawberry.field(description="Sum of PAID orders, one entry per currency.")
    async def lifetime_value(self, info: strawberry.Info) -> list[Money]:
        stats = await self._stats(info)
        return [Money.of(amount, cur) for cur, amount in stats.lifetime_value]

    @strawberry.field(description="Sum of PAID orders in the organization's currency (each "
                      "order at the exchange rate of its day), with what no rate covers.")
    async def lifetime_value_converted(self, info: strawberry.Info) -> ConvertedMoney:
        loader = info.context.loaders.keyed(
            "lifetime_values",
            lambda org_id, ids: customers.lifetime_values(org_id=org_id, ids=ids))
        value: customers.LifetimeValue = await loader.load(self.pk)
        return ConvertedMoney.of(value.org_currency, value.parts)

    @strawberry.field(description="Number of orders of any status.")
    async def order_count(self, info: strawberry.Info) -> int:
        return (await self._stats(info)).order_count

    @strawberry.field
    async def last_order_at(self, info: strawberry.Info) -> datetime | None:
        return (await self._stats(info)).last_order_at

    @strawberry.field
    async def last_interaction_at(self, info: strawberry.Info) -> datetime | None:
        return (await self._stats(info)).last_interaction_at

    @strawberry.field(
        description="For a customer a merge absorbed (deleted): the live customer holding its "
        "history now, merges of merges followed; null for every other customer."
    )
    async def merged_into(self, info: strawberry.Info) -> Customer | None:
        if self.deleted_at is None:
            return None  # live customers were never absorbed: no query for them
        pk = await info.context.loaders.merged_into.load(self.pk)
        row = await info.context.loaders.customer.load(pk) if pk not in (None, self.pk) else None
        return Customer.from_row(row) if row else None

    @strawberry.field(description="What the models expect of this customer (null: not scored).")
    async def prediction(
        self, info: strawberry.Info
    ) -> CustomerPrediction | None:
        row = await info.context.loaders.prediction.load(self.pk)
        return CustomerPrediction.from_row(row, row["currency"]) if row else None

    @strawberry.field(description=(
        "The customer's probabilities of the organization's custom predictions (by name; only"
        " those with an active model), with the reasons behind each."))
    async def scores(
        self, info: strawberry.Info, names: list[str] | None = None
    ) -> list[CustomerScore]:
        rows = await info.context.loaders.scores.load(self.pk) or []
        return [CustomerScore.from_row(r) for r in rows if names is None or r["name"] in names]

    @strawberry.field(description=(
        "The next best products for this customer, best first (up to 20), from the active"
        " recommender; a customer without history gets what is popular in its segment."))
    async def recommendations(
        self, info: strawberry.Info, first: int = 5, filter: RecommendationFilter | None = None
    ) -> list[Recommendation]:
        return await for_customer(info, self.pk, first, filter)

    @strawberry.field(description="Companies the person works or worked at: current ones first.")
    async def companies(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
        current: Annotated[bool, strawberry.argument(description="Only current ones.")] = False,
    ) -> Connection[MembershipRef]:
        org_id = info.context.loaders.org_id
        sort = memberships.SORT
        return await child_connection(
            info, self.pk, source=lambda: memberships.source(org_id, current),
            parent="customer_id", sort=sort,
            args=page_args_for(info, sort, first, after, last, before), filter_key=current,
            node_of=resolved(MembershipRef).from_row,
        )


@strawberry.enum(description="Orderings of customer lists.")
class CustomerOrderBy(Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"
    UPDATED_AT_DESC = "UPDATED_AT_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
    CHURN_RISK_DESC = "CHURN_RISK_DESC"
    CHURN_RISK_ASC = "CHURN_RISK_ASC"
    EXPECTED_REVENUE_DESC = "EXPECTED_REVENUE_DESC"
    RELEVANCE = strawberry.enum_value(
        "RELEVANCE",
        description="Best match to filter.search first (newest first without a search).",
    )


@strawberry.input(description="Which customers to list; every given condition must hold.")
class CustomerFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the name, email, phone or company (case-insensitive)."
    )
    tags: list[str] | None = strawberry.field(default=None, description="Has all these tags.")
    stages: list[LifecycleStage] | None = None
    owner_ids: list[strawberry.ID] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    deleted: bool = strawberry.field(
        default=False, description="List soft-deleted customers instead of live ones."
    )
    segments: list[str] | None = strawberry.field(default=None, description="In these segments.")
    min_churn_risk: float | None = None
    max_churn_risk: float | None = None
    min_expected_revenue: float | None = strawberry.field(
        default=None, description="In the organization's currency."
    )
    scores: list[ScoreFilter] | None = strawberry.field(
        default=None, description="Custom prediction scores in these ranges (all must hold)."
    )
    countries: list[str] | None = strawberry.field(
        default=None, description="In these countries (ISO 3166-1 alpha-2 codes)."
    )
    orders: OrderFactsFilter | None = None
    interactions: InteractionFactsFilter | None = None
    owner: OwnerFilter | None = None
    deals: DealFactsFilter | None = strawberry.field(
        default=None, description="Takes part in deals like these (e.g. an open deal over X)."
    )
    custom_fields: list[CustomFieldCondition] | None = strawberry.field(
        default=None, description="Conditions on defined custom fields; all must hold."
    )
    and_: list[CustomerFilter] | None = strawberry.field(
        default=None, name="and", description="Every one of these holds too."
    )
    or_: list[CustomerFilter] | None = strawberry.field(
        default=None, name="or",
        description="At least one of these holds (an empty list is ignored).",
    )
    not_: CustomerFilter | None = strawberry.field(
        default=None, name="not", description="This does not hold."
    )

    def to_filter(self, depth: int = 0) -> facts.CustomerFilter:
        from core.errors import AppError, ErrorCode

        if self.search is not None and len(self.search) > 200:
            raise AppError(
                ErrorCode.BAD_USER_INPUT, "search must be at most 200 characters",
                ["filter", "search"],
            )
        if depth and self.deleted:
            raise AppError(ErrorCode.BAD_USER_INPUT, "deleted is only allowed at the top level",
                           ["filter", "deleted"])
        if depth >= MAX_FILTER_DEPTH:
            raise AppError(ErrorCode.BAD_USER_INPUT,
                           f"filters nest at most {MAX_FILTER_DEPTH} levels", ["filter"])
        return facts.CustomerFilter(
            search=self.search,
            tags=tuple(self.tags or ()),
            stages=tuple(self.stages or ()),
            owner_ids=tuple(
                decode_id(i, "User", "filter.ownerIds") for i in self.owner_ids or ()
            ),
            created_after=self.created_after,
            created_before=self.created_before,
            deleted=self.deleted,
            segments=tuple(self.segments or ()),
            min_churn_risk=self.min_churn_risk,
            max_churn_risk=self.max_churn_risk,
            min_expected_revenue=self.min_expected_revenue,
            scores=tuple(facts.ScoreCondition(
                name=c.name, min=c.min, max=c.max, bands=tuple(b.value for b in c.bands or ()),
            ) for c in self.scores or ()),
            countries=tuple(c.strip().upper() for c in self.countries or ()),
            orders=self.orders.to_facts() if self.orders else None,
            interactions=self.interactions.to_facts() if self.interactions else None,
            owner=self.owner.to_facts() if self.owner else None,
            deals=self.deals.to_facts() if self.deals else None,
            custom_fields=tuple(c.raw() for c in self.custom_fields or ()),
            all_of=tuple(c.to_filter(depth + 1) for c in self.and_ or ()),
            any_of=tuple(c.to_filter(depth + 1) for c in self.or_ or ()),
            not_=self.not_.to_filter(depth + 1) if self.not_ else None,
        )


@planned
@strawberry.input
class AddressInput:
    street: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    region: str | None = strawberry.UNSET
    postal_code: str | None = strawberry.UNSET
    country: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 3166-1 alpha-2 code."
    )


@strawberry.input(description="A new customer.")
class CreateCustomerInput:
    name: str
    kind: CustomerKind = CustomerKind.PERSON
    email: str | None = None
    phone: str | None = strawberry.field(
        default=None, description="With country code, or national format of address.country."
    )
    company: str | None = None
    address: AddressInput | None = None
    stage: LifecycleStage = LifecycleStage.LEAD
    tags: list[str] | None = None
    custom_fields: JSON | None = None
    owner_id: strawberry.ID | None = None
    external_ref: str | None = None
    email_opt_out: bool = False


@strawberry.input(description="Changes to a customer's fields; omitted fields stay, null clears.")
class CustomerChanges:
    name: str | None = strawberry.UNSET
    kind: CustomerKind | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    company: str | None = strawberry.UNSET
    address: AddressInput | None = strawberry.UNSET
    stage: LifecycleStage | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    custom_fields: JSON | None = strawberry.UNSET
    external_ref: str | None = strawberry.UNSET
    email_opt_out: bool | None = strawberry.UNSET


@strawberry.input(description="Changes to a customer; omitted fields stay, null clears.")
class UpdateCustomerInput(CustomerChanges):
    id: strawberry.ID
    owner_id: strawberry.ID | None = strawberry.UNSET


@strawberry.type
class CustomerPayload:
    customer: Customer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
