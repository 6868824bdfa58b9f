"""Deal stats grouped by stage, owner or month, and the deal-based revenue forecast."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from itertools import groupby

import strawberry

from auth.permissions import IsAuthenticated
from core.errors import AppError, ErrorCode
from db import deal_stats
from db.sales_enums import DealStatus
from resolvers.deal import deal_filter
from schema.deal import DealFilter
from schema.deal_stats import DealForecast, DealGroupBy, DealGroupStats
from schema.node import decode_id

MAX_MONTHS = 36


@strawberry.type
class DealStatsQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def deal_stats_by(
        self, info: strawberry.Info, group_by: DealGroupBy, filter: DealFilter | None = None,
    ) -> list[DealGroupStats]:
        """The deals matching the filter (open ones if it names no statuses) grouped by stage
        (in pipeline order), owner or expected close month: count, sum and weighted value."""
        org_id = info.context.require_viewer().organization_id
        f = await deal_filter(info, filter)
        if not f.statuses:
            f = replace(f, statuses=(DealStatus.OPEN,))
        rows = await deal_stats.grouped(org_id=org_id, group_by=group_by.value, f=f)
        currency = await deal_stats.org_currency(org_id)
        return [DealGroupStats.of(group_by, list(group), currency)
                for _, group in groupby(rows, key=lambda r: r["group_key"])]

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def deal_forecast(
        self, info: strawberry.Info, months: int = 6, pipeline_id: strawberry.ID | None = None,
    ) -> DealForecast:
        """Open deals' amount x probability by expected close month, from this month (UTC)."""
        org_id = info.context.require_viewer().organization_id
        if not 1 <= months <= MAX_MONTHS:
            raise AppError(ErrorCode.BAD_USER_INPUT,
                           f"months must be between 1 and {MAX_MONTHS}", ["months"])
        chosen = decode_id(pipeline_id, "Pipeline", "pipelineId") if pipeline_id else None
        today = datetime.now(UTC).date()
        start = date(today.year, today.month, 1)
        rows = await deal_stats.forecast(org_id=org_id, start=start, months=months,
                                         pipeline_id=chosen)
        wanted = [deal_stats.add_months(start, n) for n in range(months)]
        return DealForecast.of(start, wanted, rows, await deal_stats.org_currency(org_id))
