"""Exchange rates: ADMINs upload them; analytics convert other currencies' orders with them."""

from __future__ import annotations

import strawberry

from auth.permissions import IsAdmin, IsAuthenticated
from db import exchange_rate as rates
from db.upsert import RowResult
from resolvers import relay
from resolvers.bulk import in_input, upsert_rows
from resolvers.common import provided
from schema.bulk import UpsertRowStatus
from schema.exchange_rate import (
    ExchangeRate,
    ExchangeRateInput,
    ExchangeRatePayload,
    ExchangeRateResult,
    UploadExchangeRatesInput,
    UploadExchangeRatesPayload,
)
from schema.pagination import Connection


def _result(r: RowResult) -> ExchangeRateResult:
    return ExchangeRateResult(
        index=r.index, status=UpsertRowStatus(r.status),
        exchange_rate=ExchangeRate.from_row(r.row) if r.row else None, errors=in_input(r.errors),
    )


@strawberry.type
class ExchangeRateQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def exchange_rates(
        self, info: strawberry.Info, currency: str | None = None, first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[ExchangeRate]:
        """Your organization's rates, latest day first (of one currency if given)."""
        return await relay.list_(
            info, rates.SORT, lambda org_id: rates.source(org_id, currency),
            ExchangeRate.from_row, first, after, last, before,
        )


@strawberry.type
class ExchangeRateMutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def set_exchange_rate(
        self, info: strawberry.Info, input: ExchangeRateInput
    ) -> ExchangeRatePayload:
        """Set the rate of a currency from a day on (replacing that day's rate)."""
        org_id = info.context.require_viewer().organization_id
        [result] = await rates.set_rates(org_id=org_id, rows=[provided(input)])
        errors = in_input(result.errors)
        for e in errors:  # a single input: its fields sit directly under "input"
            e.field = ["input", *(e.field or [])[3:]]
        row = result.row
        return ExchangeRatePayload(exchange_rate=ExchangeRate.from_row(row) if row else None,
                                   errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def upload_exchange_rates(
        self, info: strawberry.Info, input: UploadExchangeRatesInput
    ) -> UploadExchangeRatesPayload:
        """Create or replace up to 1,000 rates, matched on currency and day; per-row results."""
        org_id = info.context.require_viewer().organization_id
        rows = [provided(row) for row in input.rows]
        return await upsert_rows(lambda: rates.set_rates(org_id=org_id, rows=rows),
                                 UploadExchangeRatesPayload, _result)
