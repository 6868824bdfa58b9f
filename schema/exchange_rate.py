"""Exchange rates: what one unit of a currency is worth in the organization's currency."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry

from db.sql import Row
from schema.bulk import ROWS_DESCRIPTION, UpsertCounts, UpsertRowStatus
from schema.errors import UserError
from schema.input_conversion import planned


@strawberry.type(description="One unit of `currency` in the organization's currency, from"
                 " `validOn` until the next rate of that currency.")
class ExchangeRate:
    currency: str = strawberry.field(description="ISO 4217 code.")
    valid_on: date
    rate: Decimal
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> ExchangeRate:
        return cls(currency=row["currency"], valid_on=row["valid_on"],
                   rate=row["rate"].normalize(), updated_at=row["updated_at"])


@planned
@strawberry.input(description="A rate of a currency from a day on; the same currency and day"
                  " again replaces it.")
class ExchangeRateInput:
    currency: str
    valid_on: date
    rate: Decimal = strawberry.field(description="Positive, at most ten decimal places.")


@strawberry.type
class ExchangeRatePayload:
    exchange_rate: ExchangeRate | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@planned
@strawberry.input(description="Rates to create or replace, matched on currency and day.")
class UploadExchangeRatesInput:
    rows: list[ExchangeRateInput] = strawberry.field(description=ROWS_DESCRIPTION)


@strawberry.type(description="The outcome of one rate row.")
class ExchangeRateResult:
    index: int = strawberry.field(description="Position of the row in input.rows.")
    status: UpsertRowStatus
    exchange_rate: ExchangeRate | None
    errors: list[UserError]


@strawberry.type
class UploadExchangeRatesPayload(UpsertCounts):
    results: list[ExchangeRateResult] = strawberry.field(default_factory=list)
