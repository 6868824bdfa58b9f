"""Prediction data access: runs, batched prediction writes and reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from db import prediction as predictions
from tests.factories import make_customer, make_order, make_org

NOW = datetime.now(UTC)


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
