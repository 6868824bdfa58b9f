"""Scheduled training: a server trains the organizations that are due, in a worker process."""

from __future__ import annotations

from datetime import timedelta

from db import prediction_registry as registry
from db.prediction_models import RunStatus
from ml.jobs import retrain_due
from tests.demo import Demo


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
