"""Scheduled training: a server trains the organizations that are due, in a worker process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app.seed import SeedPlan, seed
from db import prediction as predictions
from db import prediction_registry as registry
from db.prediction_models import RunStatus
from ml.jobs import Trainer, retrain_due
from tests.factories import make_org, make_user


async def test_an_organization_without_models_is_trained_soon_after_start(
    db: str, settings
) -> None:
    org = await make_org()
    await seed(db, org.id, SeedPlan(customers=300, seed=5), [(await make_user(org)).id])
    schedule = settings.model_copy(update={"ml_retrain_interval": timedelta(days=1)})
    trainer = Trainer(db, schedule)
    try:
        started = await retrain_due(trainer, schedule, among=[org.id])
        assert len(started) == 1
        assert await retrain_due(trainer, schedule, among=[org.id]) == []  # in flight
        deadline = datetime.now(UTC) + timedelta(seconds=120)
        while True:
            run = await predictions.get_run(run_id=started[0])
            assert run is not None
            if run["status"] in (RunStatus.SUCCEEDED, RunStatus.FAILED):
                break
            assert datetime.now(UTC) < deadline, run
            await asyncio.sleep(0.2)
    finally:
        await trainer.close()
    assert run["status"] == RunStatus.SUCCEEDED, run["error"]
    assert not run["backtest"]
    active = await registry.active_models(org_id=org.id)
    assert "CHURN" in active
    assert await retrain_due(trainer, schedule, among=[org.id]) == []  # trained: not due
