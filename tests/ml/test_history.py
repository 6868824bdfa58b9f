"""Histories for training: PAID orders and interactions before a cutoff, as arrays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

from db.enums import Channel, Direction, OrderStatus
from db.models import Organization
from ml import history as histories
from ml.features import to_day
from tests.factories import make_customer, make_interaction, make_order, make_org

NOW = datetime.now(UTC)


async def test_history_keeps_paid_orders_before_as_of_of_live_customers_only(org) -> None:
    await Organization.filter(id=org.id).update(currency="EUR")
    ada = await make_customer(org, name="Ada")
    gone = await make_customer(org, name="Gone", deleted_at=NOW)
    theirs = await make_customer(await make_org())
    day = NOW - timedelta(days=10)
    await make_order(ada, amount=Decimal("10.50"), placed_at=day)
    await make_order(ada, amount=Decimal("99"), currency="USD", placed_at=day)
    await make_order(ada, status=OrderStatus.REFUNDED, placed_at=day)
    await make_order(ada, placed_at=NOW + timedelta(days=1))  # after as_of
    await make_order(gone, placed_at=day)
    await make_order(theirs, placed_at=day)
    await make_interaction(ada, channel=Channel.SMS, direction=Direction.OUTBOUND, occurred_at=day)
    history = await histories.load_history(org_id=org.id, as_of=NOW)
    assert history.customer_ids.tolist() == [ada.id]
    assert history.currency == "EUR"
    assert sorted(np.nan_to_num(history.orders.amount, nan=-1).tolist()) == [-1, 10.5]
    assert history.orders.day.max() < to_day(NOW)
    assert history.interactions.kind.tolist() == [2]
    assert history.interactions.inbound.tolist() == [False]
    assert history.emails is None  # the email outcomes hook is empty for now


async def test_imported_history_counts_from_the_first_order(org) -> None:
    customer = await make_customer(org)  # created now, but bought years ago
    long_ago = NOW - timedelta(days=800)
    await make_order(customer, placed_at=long_ago)
    history = await histories.load_history(org_id=org.id, as_of=NOW)
    assert history.created_day[0] == to_day(long_ago)


async def test_history_of_some_customers(org) -> None:
    a, b = await make_customer(org), await make_customer(org)
    await make_order(a, placed_at=NOW - timedelta(days=1))
    await make_order(b, placed_at=NOW - timedelta(days=1))
    history = await histories.load_history(org_id=org.id, as_of=NOW, customer_ids=[b.id])
    assert history.customer_ids.tolist() == [b.id]
    assert history.orders.customer.tolist() == [0]


async def test_other_currencies_are_converted_at_the_rate_of_their_day(org) -> None:
    from db import exchange_rate as rates

    await Organization.filter(id=org.id).update(currency="EUR")
    ada = await make_customer(org)
    await rates.set_rates(org_id=org.id, rows=[
        {"currency": "USD", "valid_on": datetime(2026, 1, 1).date(), "rate": Decimal("0.9")},
        {"currency": "USD", "valid_on": datetime(2026, 2, 1).date(), "rate": Decimal("0.8")},
    ])
    await make_order(ada, amount=Decimal("100"), currency="USD",
                     placed_at=datetime(2026, 1, 31, 23, 0, tzinfo=UTC))
    await make_order(ada, amount=Decimal("100"), currency="USD",
                     placed_at=datetime(2026, 2, 1, 0, 30, tzinfo=UTC))
    await make_order(ada, amount=Decimal("100"), currency="USD",
                     placed_at=datetime(2025, 12, 31, tzinfo=UTC))  # before any rate
    await make_order(ada, amount=Decimal("5"), currency="GBP",
                     placed_at=datetime(2026, 1, 5, tzinfo=UTC))  # no rate at all
    await make_order(ada, amount=Decimal("7"), placed_at=datetime(2026, 1, 5, tzinfo=UTC))
    history = await histories.load_history(org_id=org.id, as_of=datetime(2026, 3, 1, tzinfo=UTC))
    assert sorted(np.nan_to_num(history.orders.amount, nan=-1).tolist()) == [-1, -1, 7, 80, 90]
    assert history.unconverted_orders == 2
