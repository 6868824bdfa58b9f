"""Money: an amount in one currency, as every domain shows it."""

from __future__ import annotations

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
