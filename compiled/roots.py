"""Root lookups served without their resolver: ``customer(id:)``, ``order(id:)`` and the like.

In the generic path such a field checks the caller's role (and an API key's scopes), decodes
the global ID and loads the row through the operation's DataLoader, each step behind a layer
of Strawberry wrappers (arguments, permission extension, ``await_maybe``): on a light request
those layers cost more than the statement. Here the same checks run as plain calls
(``auth.permissions.refusal``, ``schema.node.decode_id``) and the row comes through the compiled
path's per-request cache. Whatever the resolver would answer with an error (a refused role, a
malformed ID) is left to it: the lookup raises ``Refused`` and the generic executor answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, StringValueNode, VariableNode

from auth.identity import Viewer
from auth.permissions import refusal, role_of
from compiled.batches import Work, objects_by_id, rows_by_id
from core.errors import AppError
from db import customer as customers
from db import interaction as interactions
from db import order as orders
from db import product as products
from db.enums import Role
from db.sql import Row
from schema.customer import Customer
from schema.interaction import Interaction
from schema.node import decode_id
from schema.order import Order
from schema.product import Product

FetchMany = Callable[[int, list[int]], Awaitable[Mapping[int, Row]]]


class Refused(Exception):
    """The resolver must answer (it reports an error this lookup does not word)."""


@dataclass(frozen=True)
class Lookup:
    """How a root field finds one object of ``type_name`` by its global ID."""

    type_name: str
    memo: str  # the compiled path's per-request cache of these rows (shared with batches)
    fetch_many: FetchMany
    node_of: Callable[[Row], Any]


LOOKUPS: dict[str, Lookup] = {
    "Query.customer": Lookup(
        "Customer", "customer",
        lambda org_id, ids: customers.get_many(org_id=org_id, ids=ids), Customer.from_row,
    ),
    "Query.order": Lookup(
        "Order", "order", lambda org_id, ids: orders.get_many(org_id=org_id, ids=ids),
        Order.from_row,
    ),
    "Query.interaction": Lookup(
        "Interaction", "interaction",
        lambda org_id, ids: interactions.get_many(org_id=org_id, ids=ids), Interaction.from_row,
    ),
    "Query.product": Lookup(
        "Product", "product", lambda org_id, ids: products.get_many(org_id=org_id, ids=ids),
        Product.from_row,
    ),
}


@dataclass(frozen=True)
class DirectRoot:
    """A root lookup of one document: its field, the role it needs and where its ID comes from."""

    path: str
    lookup: Lookup
    role: Role
    variable: str | None  # the ID is this variable's value ...
    literal: str | None  # ... or this literal

    async def resolve(self, work: Work, viewer: Viewer, variables: Mapping[str, Any]) -> Any:
        """The object (or None), as the field's resolver returns it; Refused otherwise."""
        if refusal(viewer, self.role, self.path) is not None:
            raise Refused("permission")
        given = self.literal if self.variable is None else variables.get(self.variable)
        if not isinstance(given, str):
            raise Refused("id")
        lookup = self.lookup
        try:
            pk = decode_id(given, lookup.type_name)
        except AppError as exc:
            raise Refused("id") from exc
        rows = await rows_by_id(
            work, lookup.memo, [pk], lambda wanted: lookup.fetch_many(work.org_id, wanted)
        )
        [found] = objects_by_id(work, f"{lookup.memo} objects", [pk], rows, lookup.node_of)
        return found


def direct_root(path: str, nodes: list[FieldNode], permission_classes: Any) -> DirectRoot | None:
    """The direct lookup serving root field ``path`` as selected by ``nodes``, if there is one.

    Only fields whose one permission class is a plain role check qualify (auth.permissions),
    and only an ``id`` given as a variable or a string literal.
    """
    lookup = LOOKUPS.get(path)
    role = role_of(permission_classes)
    if lookup is None or role is None:
        return None
    arguments = nodes[0].arguments or ()
    if len(arguments) != 1 or arguments[0].name.value != "id":
        return None
    value = arguments[0].value
    if isinstance(value, VariableNode):
        return DirectRoot(path, lookup, role, value.name.value, None)
    if isinstance(value, StringValueNode):
        return DirectRoot(path, lookup, role, None, value.value)
    return None
