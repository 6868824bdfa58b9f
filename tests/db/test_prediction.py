"""Prediction data access: histories as arrays, runs, batched prediction writes and reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from tortoise.transactions import in_transaction

from db import prediction as predictions
from db.enums import Channel, Direction, OrderStatus
from db.models import Organization
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
    history = await predictions.load_history(org_id=org.id, as_of=NOW)
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
    history = await predictions.load_history(org_id=org.id, as_of=NOW)
    assert history.created_day[0] == to_day(long_ago)


async def test_history_of_some_customers(org) -> None:
    a, b = await make_customer(org), await make_customer(org)
    await make_order(a, placed_at=NOW - timedelta(days=1))
    await make_order(b, placed_at=NOW - timedelta(days=1))
    history = await predictions.load_history(org_id=org.id, as_of=NOW, customer_ids=[b.id])
    assert history.customer_ids.tolist() == [b.id]
    assert history.orders.customer.tolist() == [0]


async def test_one_run_in_flight_per_organization(org) -> None:
    first, created = await predictions.start_run(
        org_id=org.id, user_id=None, as_of=NOW, horizon_days=90, backtest=False)
    again, created_again = await predictions.start_run(
        org_id=org.id, user_id=None, as_of=NOW, horizon_days=30, backtest=False)
    assert created
    assert not created_again
    assert again["id"] == first["id"]
    other, created_other = await predictions.start_run(
        org_id=(await make_org()).id, user_id=None, as_of=NOW, horizon_days=90, backtest=False)
    assert created_other
    assert other["id"] != first["id"]
    assert await predictions.get_run(run_id=first["id"], org_id=other["organization_id"]) is None


async def test_predictions_are_written_in_batches_and_replaced(org) -> None:
    customers = [await make_customer(org) for _ in range(3)]
    ids = [c.id for c in customers]
    rows = predictions.ScoreRows(
        customer_ids=ids, churn=[0.1, 0.5, None], revenue=[10.0, 0.0, None],
        orders=[1.0, 0.0, None], segments=["Champions", "At risk", None],
        reasons=[[{"feature": "recency_days", "direction": "UP", "weight": 0.2}], [], []],
    )
    async with in_transaction() as conn:
        await predictions.write_predictions(
            rows, org_id=org.id, model_version="churn v1", as_of=NOW, horizon_days=90,
            replace_all=True, using=conn)
    found = await predictions.get_many(org_id=org.id, customer_ids=ids)
    assert found[ids[0]]["reasons"][0]["feature"] == "recency_days"
    assert found[ids[1]]["segment"] == "At risk"
    assert found[ids[2]]["churn_risk"] is None
    assert await predictions.segment_sizes(org_id=org.id) == {"Champions": 1, "At risk": 1}
    assert await predictions.get_many(org_id=(await make_org()).id, customer_ids=ids) == {}
    assert await predictions.stale_customers(
        org_id=org.id, max_age=timedelta(days=1), limit=10) == []
    await make_order(customers[1])
    assert await predictions.stale_customers(
        org_id=org.id, max_age=timedelta(days=1), limit=10) == [ids[1]]
