"""Scheduled training: a server trains the organizations that are due, in a worker process."""

from __future__ import annotations

from datetime import timedelta

from app.cli import DEMO_CUSTOMERS, DEMO_ORDERS_PER_CUSTOMER
from app.seed import SeedPlan
from db import prediction_registry as registry
from db.prediction_models import RunStatus
from ml.jobs import retrain_due
from tests.demo import Demo, trained_demo


async def test_an_organization_without_models_is_trained_soon_after_start(
    demo: Demo, settings
) -> None:
    assert demo.run["status"] == RunStatus.SUCCEEDED, demo.run["error"]
    assert not demo.run["backtest"]
    active = await registry.active_models(org_id=demo.org.id)
    assert "CHURN" in active
    schedule = settings.model_copy(update={"ml_retrain_interval": timedelta(days=1)})
    assert await retrain_due(demo.trainer, schedule, among=[demo.org.id]) == []  # not due
    later = settings.model_copy(update={"ml_retrain_interval": timedelta(seconds=0.001)})
    assert await retrain_due(demo.trainer, later, among=[]) == []  # only those asked about


async def test_the_readme_demo_gets_every_prediction_it_promises(db: str, settings) -> None:
    # the plan `crm serve` seeds: churn risk, expected revenue, segments, a forecast and
    # recommendations within the first training (README: "What a newcomer sees")
    plan = SeedPlan(customers=DEMO_CUSTOMERS, orders_per_customer=DEMO_ORDERS_PER_CUSTOMER)
    demo = await trained_demo(db, settings, plan=plan)
    assert demo.run["status"] == RunStatus.SUCCEEDED, demo.run["error"]
    status = {r["kind"]: r["status"] for r in demo.run["results"]}
    assert {kind: status.get(kind) for kind in (
        "CHURN", "REVENUE", "SEGMENTS", "FORECAST", "RECOMMENDATIONS")} == dict.fromkeys((
        "CHURN", "REVENUE", "SEGMENTS", "FORECAST", "RECOMMENDATIONS"), "ACTIVATED"), [
        (r["kind"], r["status"], r["message"]) for r in demo.run["results"]]
