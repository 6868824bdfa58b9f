"""Companies (accounts) and the people working at them."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from db import company as companies
from db import company_membership as memberships
from db import deal as deals
from db.sales_enums import CompanySize as DbCompanySize
from db.sql import Row
from schema.custom_field import CustomFieldCondition
from schema.customer import Address, AddressInput, Customer
from schema.errors import UserError
from schema.node import Node, decode_id, resolved, to_global_id
from schema.pagination import Connection, child_connection, page_args_for
from schema.user import User

if TYPE_CHECKING:
    from schema.deal import Deal

DealRef = Annotated["Deal", strawberry.lazy("schema.deal")]
CompanySize = strawberry.enum(DbCompanySize, name="CompanySize",
                              description="Head count: MICRO 1-9, SMALL 10-49, MEDIUM 50-249, "
                              "LARGE 250-999, ENTERPRISE 1000 and more.")


async def load_company(info: strawberry.Info, pk: int | None) -> Company | None:
    """A live company of the caller's organization, batched per operation."""
    if pk is None:
        return None
    loader = info.context.loaders.keyed(
        "company", lambda org_id, ids: companies.get_many(org_id=org_id, ids=ids)
    )
    row = await loader.load(pk)
    return Company.from_row(row) if row else None


async def load_user(info: strawberry.Info, pk: int | None) -> User | None:
    """A user of the caller's organization, batched per operation."""
    row = await info.context.loaders.user.load(pk) if pk is not None else None
    return User.from_row(row) if row else None


@strawberry.type(description="An account: a company the organization sells to.")
class Company(Node):
    id: strawberry.ID
    name: str
    domain: str | None = strawberry.field(description="Lower case, without scheme, www or path.")
    industry: str | None
    size: CompanySize | None  # type: ignore[valid-type]
    address: Address
    custom_fields: JSON = strawberry.field(
        description="Values by key: typed by the COMPANY custom field definitions (personal"
        " ones masked for viewers who may not read personal data); other keys free-form.")
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    pk: strawberry.Private[int]
    owner_id: strawberry.Private[int | None]
    merged_into_pk: strawberry.Private[int | None] = None

    @classmethod
    def from_row(cls, row: Row) -> Company:
        return cls(
            id=to_global_id("Company", row["id"]), name=row["name"], domain=row["domain"],
            industry=row["industry"], size=row["size"],
            address=Address(street=row["street"], city=row["city"], region=row["region"],
                            postal_code=row["postal_code"], country=row["country"]),
            custom_fields=row["custom_fields"], created_at=row["created_at"],
            updated_at=row["updated_at"], deleted_at=row["deleted_at"], pk=row["id"],
            owner_id=row["owner_id"], merged_into_pk=row.get("merged_into_id"),
        )

    @strawberry.field(description="On a company mergeCompanies absorbed: the one it went to.")
    async def merged_into(self, info: strawberry.Info) -> Company | None:
        return await load_company(info, self.merged_into_pk)

    @strawberry.field(description="The user responsible for this company.")
    async def owner(self, info: strawberry.Info) -> User | None:
        return await load_user(info, self.owner_id)

    @strawberry.field(description="People at this company: current ones first, then former.")
    async def people(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
        current: Annotated[bool, strawberry.argument(description="Only current ones.")] = False,
    ) -> Connection[CompanyMembership]:
        org_id = info.context.loaders.org_id
        sort = memberships.SORT
        return await child_connection(
            info, self.pk, source=lambda: memberships.source(org_id, current),
            parent="company_id", sort=sort,
            args=page_args_for(info, sort, first, after, last, before), filter_key=current,
            node_of=CompanyMembership.from_row,
        )

    @strawberry.field(description="Deals with this company, latest first.")
    async def deals(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[DealRef]:
        org_id = info.context.loaders.org_id
        sort = deals.SORTS["CREATED_AT_DESC"]
        return await child_connection(
            info, self.pk, source=lambda: deals.source(org_id, deals.DealFilter()),
            parent="company_id", sort=sort,
            args=page_args_for(info, sort, first, after, last, before), filter_key="all",
            node_of=resolved(DealRef).from_row,
        )


@strawberry.type(description="A person working at a company, for a time (history stays).")
class CompanyMembership(Node):
    id: strawberry.ID
    title: str | None = strawberry.field(description="Job title, e.g. Head of Purchasing.")
    role: str | None = strawberry.field(description="Their part in buying, e.g. Decision maker.")
    is_primary: bool = strawberry.field(description="The person's main company now.")
    started_on: date | None
    ended_on: date | None
    created_at: datetime
    company_pk: strawberry.Private[int]
    customer_pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Row) -> CompanyMembership:
        return cls(
            id=to_global_id("CompanyMembership", row["id"]), title=row["title"],
            role=row["role"], is_primary=row["is_primary"], started_on=row["started_on"],
            ended_on=row["ended_on"], created_at=row["created_at"],
            company_pk=row["company_id"], customer_pk=row["customer_id"],
        )

    @strawberry.field(description="Whether the person still works there.")
    def current(self) -> bool:
        return self.ended_on is None

    @strawberry.field
    async def company(self, info: strawberry.Info) -> Company | None:
        return await load_company(info, self.company_pk)

    @strawberry.field(description="The person (a customer).")
    async def person(self, info: strawberry.Info) -> Customer | None:
        row = await info.context.loaders.customer.load(self.customer_pk)
        return Customer.from_row(row) if row else None


@strawberry.enum(description="Orderings of company lists.")
class CompanyOrderBy(Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"
    UPDATED_AT_DESC = "UPDATED_AT_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
    RELEVANCE = strawberry.enum_value(
        "RELEVANCE",
        description="Best match to filter.search first (newest first without a search).",
    )


@strawberry.input(description="Which companies to list; every given condition must hold.")
class CompanyFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the name or domain (case-insensitive)."
    )
    domains: list[str] | None = None
    industries: list[str] | None = None
    sizes: list[CompanySize] | None = None  # type: ignore[valid-type]
    owner_ids: list[strawberry.ID] | None = None
    countries: list[str] | None = None
    no_activity_within_days: int | None = strawberry.field(
        default=None, description="No interaction with a current member and no deal created "
        "or moved in the last N days.",
    )
    custom_fields: list[CustomFieldCondition] | None = strawberry.field(
        default=None, description="Conditions on defined custom fields; all must hold."
    )
    deleted: bool = strawberry.field(default=False, description="List soft-deleted ones.")

    def to_filter(self) -> companies.CompanyFilter:
        from core.errors import AppError, ErrorCode

        if self.search is not None and len(self.search) > 200:
            raise AppError(ErrorCode.BAD_USER_INPUT, "search must be at most 200 characters",
                           ["filter", "search"])
        days = self.no_activity_within_days
        if days is not None and not 0 <= days <= 36_500:
            raise AppError(ErrorCode.BAD_USER_INPUT, "noActivityWithinDays must be between 0"
                           " and 36500", ["filter", "noActivityWithinDays"])
        domains = []
        for i, given in enumerate(self.domains or ()):
            try:
                domains.append(companies.normalise_domain(given))
            except ValueError as exc:
                raise AppError(ErrorCode.BAD_USER_INPUT, f"domain {exc}",
                               ["filter", "domains", str(i)]) from None
        return companies.CompanyFilter(
            search=self.search, domains=tuple(domains), industries=tuple(self.industries or ()),
            sizes=tuple(self.sizes or ()),
            owner_ids=tuple(decode_id(i, "User", "filter.ownerIds") for i in self.owner_ids or ()),
            countries=tuple(c.strip().upper() for c in self.countries or ()),
            no_activity_within_days=days, deleted=self.deleted,
            custom_fields=tuple(c.raw() for c in self.custom_fields or ()),
        )


@strawberry.input(description="A new company.")
class CreateCompanyInput:
    name: str
    domain: str | None = strawberry.field(
        default=None, description="e.g. example.com; a URL is reduced to its domain."
    )
    industry: str | None = None
    size: CompanySize | None = None  # type: ignore[valid-type]
    address: AddressInput | None = None
    custom_fields: JSON | None = None
    owner_id: strawberry.ID | None = None


@strawberry.input(description="Changes to a company; omitted fields stay, null clears.")
class UpdateCompanyInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    domain: str | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    size: CompanySize | None = strawberry.UNSET  # type: ignore[valid-type]
    address: AddressInput | None = strawberry.UNSET
    custom_fields: JSON | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET


@strawberry.input(description="A person starting (or having started) at a company.")
class LinkPersonInput:
    company_id: strawberry.ID
    customer_id: strawberry.ID
    title: str | None = None
    role: str | None = None
    is_primary: bool = False
    started_on: date | None = None
    ended_on: date | None = None


@strawberry.input(description="Changes to a membership; set endedOn when the person leaves.")
class UpdateMembershipInput:
    id: strawberry.ID
    title: str | None = strawberry.UNSET
    role: str | None = strawberry.UNSET
    is_primary: bool | None = strawberry.UNSET
    started_on: date | None = strawberry.UNSET
    ended_on: date | None = strawberry.UNSET


@strawberry.type
class CompanyPayload:
    company: Company | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MembershipPayload:
    membership: CompanyMembership | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
