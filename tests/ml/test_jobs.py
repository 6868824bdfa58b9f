"""Scheduled training: a server trains the organizations that are due, in a worker process."""

from __future__ import annotations

from datetime import timedelta

from core.config import Settings
from db import customer_score as scores
from db import prediction_definition as definitions
from db import prediction_registry as registry
from db.models import Customer
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


async def test_the_demos_own_question_finds_the_pattern_planted_in_it(
        db: str, settings: Settings) -> None:
    # the README's demo (1,000 customers) defines refund_risk, and its wholesale customers
    # send more orders back
    demo = await trained_demo(db, settings, customers=1_000)
    [definition] = [d for d in await definitions.list_(org_id=demo.org.id)
                    if d["name"] == "refund_risk"]
    assert definition["status"] == "ACTIVATED", definition["message"]
    customers = await Customer.filter(organization_id=demo.org.id)
    served = await scores.for_customers(org_id=demo.org.id, customer_ids=[c.id for c in customers])
    wholesale = [c.id for c in customers if "wholesale" in c.tags]
    others = [c.id for c in customers if "wholesale" not in c.tags]

    def mean(ids: list[int]) -> float:
        return sum(served[c][0]["probability"] for c in ids) / len(ids)

    assert mean(wholesale) > 2 * mean(others)
    texts = [r["text"] for c in wholesale for r in served[c][0]["reasons"]]
    assert any(t.startswith('tagged "wholesale", which raises the chance') for t in texts)
