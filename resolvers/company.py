"""Company queries and mutations, and people's memberships of companies."""

from __future__ import annotations

from typing import Any

import strawberry

from auth.permissions import IsAgent, IsAuthenticated, IsManager
from auth.pii import refuse_personal_fields
from db import company as companies
from db import company_membership as memberships
from db import custom_field_values as custom_values
from db.custom_field import ObjectType
from resolvers import relay
from resolvers.common import attempt, missing, provided
from resolvers.ids import maybe_pk, pk
from schema.company import (
    Company,
    CompanyFilter,
    CompanyMembership,
    CompanyOrderBy,
    CompanyPayload,
    CreateCompanyInput,
    LinkPersonInput,
    MembershipPayload,
    UpdateCompanyInput,
    UpdateMembershipInput,
    load_company,
)
from schema.custom_field import CustomFieldOrder
from schema.node import decode_id
from schema.pagination import Connection


def _company_data(input: CreateCompanyInput | UpdateCompanyInput) -> dict[str, Any]:
    data = provided(input)
    data.pop("id", None)
    address = data.pop("address", strawberry.UNSET)
    if address is None:
        data.update(street=None, city=None, region=None, postal_code=None, country=None)
    elif address is not strawberry.UNSET:
        data.update(provided(address))
    if "owner_id" in data:
        data["owner_id"] = maybe_pk(data["owner_id"], "User", "input", "ownerId")
    return data


def _payload(row: dict[str, Any] | None, errors: list[Any]) -> CompanyPayload:
    return CompanyPayload(company=Company.from_row(row) if row else None, errors=errors)


def _membership(row: dict[str, Any] | None, errors: list[Any]) -> MembershipPayload:
    return MembershipPayload(membership=CompanyMembership.from_row(row) if row else None,
                             errors=errors)


@strawberry.type
class CompanyQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def company(self, info: strawberry.Info, id: strawberry.ID) -> Company | None:
        """A live company of your organization, or null."""
        return await load_company(info, decode_id(id, "Company"))

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def companies(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None, filter: CompanyFilter | None = None,
        order_by: CompanyOrderBy = CompanyOrderBy.NAME_ASC,
        order_by_custom_field: CustomFieldOrder | None = None,
    ) -> Connection[Company]:
        """Your organization's companies, a page at a time."""
        org_id = info.context.require_viewer().organization_id
        raw = filter.to_filter() if filter else companies.CompanyFilter()
        refuse_personal_fields(info.context, companies.custom_field_keys(raw),
                               order_by_custom_field, companies=True)
        f = await companies.with_custom_fields(org_id, raw)
        sort = companies.ranked(0, f)[1] if order_by is CompanyOrderBy.RELEVANCE else (
            companies.SORTS[order_by.value])
        if order_by_custom_field is not None:
            sort = await custom_values.order(
                org_id=org_id, object_type=ObjectType.COMPANY, key=order_by_custom_field.key,
                descending=order_by_custom_field.descending)
        return await relay.list_(
            info, sort, lambda org_id: companies.ranked(org_id, f)[0],
            Company.from_row, first, after, last, before,
        )


@strawberry.type
class CompanyMutation:
    @strawberry.mutation(permission_classes=[IsAgent])
    async def create_company(
        self, info: strawberry.Info, input: CreateCompanyInput
    ) -> CompanyPayload:
        org_id = info.context.require_viewer().organization_id
        return _payload(*await attempt(
            lambda: companies.create(org_id=org_id, data=_company_data(input))
        ))

    @strawberry.mutation(permission_classes=[IsAgent])
    async def update_company(
        self, info: strawberry.Info, input: UpdateCompanyInput
    ) -> CompanyPayload:
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            row = await companies.update(
                org_id=org_id, company_id=pk(input.id, "Company", "input", "id"),
                data=_company_data(input),
            )
            if row is None:
                raise missing("company")
            return row

        return _payload(*await attempt(work))

    @strawberry.mutation(permission_classes=[IsManager])
    async def delete_company(self, info: strawberry.Info, id: strawberry.ID) -> CompanyPayload:
        """Soft-delete: the company disappears from lists and can be restored."""
        return await _set_deleted(info, id, deleted=True)

    @strawberry.mutation(permission_classes=[IsManager])
    async def restore_company(self, info: strawberry.Info, id: strawberry.ID) -> CompanyPayload:
        return await _set_deleted(info, id, deleted=False)

    @strawberry.mutation(permission_classes=[IsAgent])
    async def link_person_to_company(
        self, info: strawberry.Info, input: LinkPersonInput
    ) -> MembershipPayload:
        """A person works (or worked) at a company; a new primary replaces the old one."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            data = provided(input)
            return await memberships.link(
                org_id=org_id, company_id=pk(data.pop("company_id"), "Company", "input",
                                             "companyId"),
                customer_id=pk(data.pop("customer_id"), "Customer", "input", "customerId"),
                data=data,
            )

        return _membership(*await attempt(work))

    @strawberry.mutation(permission_classes=[IsAgent])
    async def update_company_membership(
        self, info: strawberry.Info, input: UpdateMembershipInput
    ) -> MembershipPayload:
        """Change a membership; set endedOn when the person leaves (the history stays)."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            data = provided(input)
            row = await memberships.update(
                org_id=org_id,
                membership_id=pk(data.pop("id"), "CompanyMembership", "input", "id"), data=data,
            )
            if row is None:
                raise missing("membership")
            return row

        return _membership(*await attempt(work))

    @strawberry.mutation(permission_classes=[IsManager])
    async def remove_company_membership(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> MembershipPayload:
        """Delete a membership entered by mistake (to record a leaver, set endedOn instead)."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            row = await memberships.unlink(
                org_id=org_id, membership_id=pk(id, "CompanyMembership", "id")
            )
            if row is None:
                raise missing("membership", "id")
            return row

        return _membership(*await attempt(work))


async def _set_deleted(
    info: strawberry.Info, id: strawberry.ID, *, deleted: bool
) -> CompanyPayload:
    org_id = info.context.require_viewer().organization_id

    async def work() -> dict[str, Any]:
        row = await companies.set_deleted(
            org_id=org_id, company_id=pk(id, "Company", "id"), deleted=deleted
        )
        if row is None:
            raise missing("company" if deleted else "deleted company", "id")
        return row

    return _payload(*await attempt(work))
