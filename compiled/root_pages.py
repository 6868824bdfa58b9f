"""Root connections served without their resolver: ``customers(first:, after:)`` and the like.

Only the plain form qualifies: page arguments (``first``, ``after``, ``last``, ``before``) and
nothing else, so no filter to convert and the default order. The resolver would check the
caller's role, convert its arguments through Strawberry, check them against the page sizes and
fetch the page; here the same functions run directly (``auth.permissions.refusal``,
``db.pagination.page_args``, ``fetch_page``) and build a connection whose cursors are
encoded only if the document asks for them (as nested connections are). Whatever the
resolver would answer with an error (a refused role, a bad cursor, a page too large) is left to
it: ``Refused``, and the generic executor answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, IntValueNode, NullValueNode, StringValueNode, VariableNode

from auth.identity import Viewer
from auth.permissions import refusal, role_of
from compiled.batches import LazyConnection, Work
from compiled.roots import Refused
from core.errors import AppError
from db import customer as customers
from db import interaction as interactions
from db import order as orders
from db.customer_filter import CustomerFilter
from db.enums import Role
from db.pagination import Sort, Source, count, fetch_page, page_args
from db.sql import Row
from schema.customer import Customer, CustomerOrderBy
from schema.interaction import Interaction, InteractionOrderBy
from schema.order import Order, OrderOrderBy

PAGE_ARGUMENTS = ("first", "after", "last", "before")


@dataclass(frozen=True)
class Listing:
    """A root connection in its default order over all the organization's rows."""

    sort: Sort
    source: Callable[[int], Source]  # organization id -> the unfiltered source
    node_of: Callable[[Row], Any]


LISTINGS: dict[str, Listing] = {
    "Query.customers": Listing(
        customers.SORTS[CustomerOrderBy.CREATED_AT_DESC.value],
        lambda org_id: customers.source(org_id, CustomerFilter()), Customer.from_row,
    ),
    "Query.interactions": Listing(
        interactions.SORTS[InteractionOrderBy.OCCURRED_AT_DESC.value],
        lambda org_id: interactions.source(org_id, interactions.InteractionFilter()),
        Interaction.from_row,
    ),
    "Query.orders": Listing(
        orders.SORTS[OrderOrderBy.PLACED_AT_DESC.value],
        lambda org_id: orders.source(org_id, orders.OrderFilter()), Order.from_row,
    ),
}


@dataclass(frozen=True)
class DirectPage:
    """A plain root connection of one document: the role it needs and its page arguments, each
    a variable's name or a literal value."""

    path: str
    listing: Listing
    role: Role
    variables: tuple[tuple[str, str], ...]  # (argument, variable)
    literals: tuple[tuple[str, Any], ...]  # (argument, value)

    async def resolve(self, work: Work, viewer: Viewer, variables: Mapping[str, Any]) -> Any:
        """The connection, as the field's resolver returns it; Refused otherwise."""
        if refusal(viewer, self.role, self.path) is not None:
            raise Refused("permission")
        given: dict[str, Any] = dict(self.literals)
        for argument, variable in self.variables:
            given[argument] = variables.get(variable)
        first, last = given.get("first"), given.get("last")
        after, before = given.get("after"), given.get("before")
        if not all(v is None or type(v) is int for v in (first, last)) or not all(
            v is None or type(v) is str for v in (after, before)
        ):
            raise Refused("arguments")
        listing = self.listing
        try:
            args = page_args(
                listing.sort, first=first, after=after, last=last, before=before,
                default_size=work.default_page_size, max_size=work.max_page_size,
            )
        except AppError as exc:
            raise Refused("page") from exc
        page = await fetch_page(listing.source(work.org_id), listing.sort, args)
        # cursors encoded only where the document asks for them
        return LazyConnection(
            page, listing.sort, listing.node_of, lambda: count(listing.source(work.org_id))
        )


def direct_page(path: str, nodes: list[FieldNode], permission_classes: Any) -> DirectPage | None:
    """The direct connection serving root field ``path`` as selected by ``nodes``, if any."""
    listing = LISTINGS.get(path)
    role = role_of(permission_classes)
    if listing is None or role is None:
        return None
    variables: list[tuple[str, str]] = []
    literals: list[tuple[str, Any]] = []
    for argument in nodes[0].arguments or ():
        name, value = argument.name.value, argument.value
        if name not in PAGE_ARGUMENTS:
            return None  # a filter or an order: the resolver converts it
        if isinstance(value, VariableNode):
            variables.append((name, value.name.value))
        elif isinstance(value, NullValueNode):
            literals.append((name, None))
        elif isinstance(value, IntValueNode):
            literals.append((name, int(value.value)))
        elif isinstance(value, StringValueNode):
            literals.append((name, value.value))
        else:
            return None
    return DirectPage(path, listing, role, tuple(variables), tuple(literals))
