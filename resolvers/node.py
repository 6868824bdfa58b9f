"""Relay ``node(id:)``: any object by its global ID."""

from __future__ import annotations

import strawberry

from app.permissions import IsAuthenticated
from schema.customer import Customer
from schema.interaction import Interaction
from schema.node import Node, parse_global_id
from schema.order import Order
from schema.user import User


@strawberry.type
class NodeQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        """The object with this ID if it belongs to your organization, else null."""
        type_name, pk = parse_global_id(id)
        loaders = info.context.loaders
        if type_name == "Customer":
            row = await loaders.customer.load(pk)
            return Customer.from_row(row) if row else None
        if type_name == "Order":
            row = await loaders.order.load(pk)
            return Order.from_row(row) if row else None
        if type_name == "Interaction":
            row = await loaders.interaction.load(pk)
            return Interaction.from_row(row) if row else None
        if type_name == "User":
            row = await loaders.user.load(pk)
            return User.from_row(row) if row else None
        return None
