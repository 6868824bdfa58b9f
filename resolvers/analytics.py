"""Aggregate queries for dashboards."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from auth.permissions import IsAuthenticated
from auth.pii import refuse_hidden_search
from db import customer_filter as facts
from db import stats
from schema.analytics import (
    CustomerGroupBy,
    CustomerStats,
    CustomerStatsGroup,
    OrderGroupBy,
    OrderStats,
    OrderStatsFilter,
    OrderStatsGroup,
)
from schema.customer import CustomerFilter


def _selects(selections: Sequence[Selection], name: str) -> bool:
    """Whether a field called ``name`` is selected anywhere below (fragments included)."""
    for selection in selections:
        if isinstance(selection, SelectedField) and selection.name == name:
            return True
        if _selects(selection.selections, name):
            return True
    return False


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def customer_stats(
        self,
        info: strawberry.Info,
        filter: CustomerFilter | None = None,
        group_by: list[CustomerGroupBy] | None = None,
    ) -> CustomerStats:
        """Your customers matching the filter, counted per group (no groupBy: one group)."""
        org_id = info.context.require_viewer().organization_id
        f = filter.to_filter() if filter else facts.CustomerFilter()
        refuse_hidden_search(info.context, f)
        groups = await stats.customer_stats(
            org_id=org_id, f=f, group_by=[stats.GroupBy(g.value) for g in group_by or ()]
        )
        return CustomerStats(
            groups=[CustomerStatsGroup.from_row(row) for row in groups.rows],
            truncated=groups.truncated,
        )

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def order_stats(
        self,
        info: strawberry.Info,
        filter: OrderStatsFilter | None = None,
        group_by: list[OrderGroupBy] | None = None,
    ) -> OrderStats:
        """Your orders matching the filter, summed per group and currency."""
        org_id = info.context.require_viewer().organization_id
        scope = filter.to_scope() if filter else stats.OrderScope()
        refuse_hidden_search(info.context, scope)
        groups = await stats.order_stats(
            org_id=org_id, scope=scope, group_by=[stats.GroupBy(g.value) for g in group_by or ()],
            customer_count=_selects(info.selected_fields, "customerCount"),
        )
        return OrderStats(
            groups=[OrderStatsGroup.from_row(row) for row in groups.rows],
            truncated=groups.truncated,
        )
