"""Money: an amount in one currency, as every domain shows it."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import strawberry

CENT = Decimal("0.01")


@strawberry.type(description="An amount of money in one currency.")
class Money:
    amount: Decimal
    currency: str = strawberry.field(description="ISO 4217 code.")

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        """Money shown with cents (``12.50``), or with all its digits when it has more."""
        cents = amount.quantize(CENT)
        return cls(amount=cents if cents == amount else amount.normalize(), currency=currency)


@strawberry.type(description="A sum in the organization's currency: each part converted at the "
                 "exchange rate in effect on its day (exchangeRates); parts no rate covers are "
                 "listed in `unconverted`, never summed at a wrong value or left out unseen.")
class ConvertedMoney:
    amount: Money = strawberry.field(
        description="What could be converted, in the organization's currency.")
    unconverted: list[Money] = strawberry.field(
        description="Per currency, the part without a rate on its day (not in amount); empty "
        "when everything was converted.")

    @classmethod
    def of(cls, org_currency: str, parts: Iterable[tuple[str, Decimal | None, Decimal | None]],
           places: Decimal = CENT) -> ConvertedMoney:
        """The sum of ``(currency, converted, unconverted)`` parts (None: nothing of it)."""
        converted, missing = Decimal(0), dict[str, Decimal]()
        for currency, done, left in parts:
            converted += done or 0
            if left is not None:
                missing[currency] = missing.get(currency, Decimal(0)) + left
        return cls(amount=Money.of(converted.quantize(places), org_currency),
                   unconverted=[Money.of(v, c) for c, v in sorted(missing.items())])
