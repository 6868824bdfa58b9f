"""Order queries and mutations."""

from __future__ import annotations

from typing import Any

import strawberry

from auth.permissions import IsAgent, IsAuthenticated
from db import order as orders
from resolvers import relay
from resolvers.common import attempt, missing, provided
from schema.node import decode_id
from schema.order import (
    CreateOrderInput,
    Order,
    OrderFilter,
    OrderOrderBy,
    OrderPayload,
    UpdateOrderInput,
)
from schema.pagination import Connection


def _order_data(input: CreateOrderInput | UpdateOrderInput) -> dict[str, Any]:
    data = provided(input)
    data.pop("id", None)
    if data.get("customer_id") is not None:
        data["customer_id"] = decode_id(data["customer_id"], "Customer", "input.customerId")
    if data.get("line_items") is not None:
        data["line_items"] = [vars(item) for item in data["line_items"]]
    return data


@strawberry.type
class OrderQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def order(self, info: strawberry.Info, id: strawberry.ID) -> Order | None:
        return await relay.get_by_id(info, id, "Order", "order", Order.from_row)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def orders(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: OrderFilter | None = None,
        order_by: OrderOrderBy = OrderOrderBy.PLACED_AT_DESC,
    ) -> Connection[Order]:
        """Your organization's orders, latest first by default."""
        f = filter.to_filter() if filter else orders.OrderFilter()
        return await relay.list_(
            info, orders.SORTS[order_by.value], lambda org_id: orders.source(org_id, f),
            Order.from_row, first, after, last, before,
        )


@strawberry.type
class OrderMutation:
    @strawberry.mutation(permission_classes=[IsAgent])
    async def create_order(self, info: strawberry.Info, input: CreateOrderInput) -> OrderPayload:
        org_id = info.context.require_viewer().organization_id
        row, errors = await attempt(lambda: orders.create(org_id=org_id, data=_order_data(input)))
        return OrderPayload(order=Order.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(permission_classes=[IsAgent])
    async def update_order(self, info: strawberry.Info, input: UpdateOrderInput) -> OrderPayload:
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            order_id = decode_id(input.id, "Order", "input.id")
            row = await orders.update(org_id=org_id, order_id=order_id, data=_order_data(input))
            if row is None:
                raise missing("order")
            return row

        row, errors = await attempt(work)
        return OrderPayload(order=Order.from_row(row) if row else None, errors=errors)
