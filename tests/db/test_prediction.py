"""Prediction data access: runs, batched prediction writes and reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from db import prediction as predictions
from db.prediction_models import RunStatus
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


async def test_organizations_are_due_for_training_by_their_last_live_run(org) -> None:
    customer = await make_customer(org)
    quiet = await make_org()  # no orders: nothing to learn from
    await make_customer(quiet)
    among = [org.id, quiet.id]
    hour_ago = NOW - timedelta(hours=1)
    assert await predictions.organizations_due_for_training(
        trained_before=hour_ago, among=among) == []
    await make_order(customer)
    assert await predictions.organizations_due_for_training(
        trained_before=hour_ago, among=among) == [org.id]
    backtest, _ = await predictions.start_run(
        org_id=org.id, user_id=None, as_of=NOW - timedelta(days=400), horizon_days=90,
        backtest=True)
    assert await predictions.organizations_due_for_training(  # one in flight
        trained_before=hour_ago, among=among) == []
    await predictions.finish_run(backtest["id"], RunStatus.SUCCEEDED)
    assert await predictions.organizations_due_for_training(  # a backtest is not training
        trained_before=hour_ago, among=among) == [org.id]
    live, _ = await predictions.start_run(
        org_id=org.id, user_id=None, as_of=NOW, horizon_days=90, backtest=False)
    await predictions.finish_run(live["id"], RunStatus.SUCCEEDED)
    assert await predictions.organizations_due_for_training(
        trained_before=hour_ago, among=among) == []
    assert await predictions.organizations_due_for_training(  # once it is old enough
        trained_before=NOW + timedelta(hours=1), among=among) == [org.id]
