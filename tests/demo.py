"""A demo organization as the README's first command leaves it: seeded, then trained by the
server's own schedule (in a worker process). Built once per test session, on first use."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.seed import SeedPlan, seed
from core.config import Settings
from db import prediction as predictions
from db.models import Organization, User
from db.prediction_models import RunStatus
from ml.jobs import Trainer, retrain_due
from tests.factories import make_org, make_user


@dataclass
class Demo:
    org: Organization
    admin: User
    run: dict[str, Any]  # the scheduled training run, finished
    trainer: Trainer  # closed; retrain_due may still be asked what is due


async def trained_demo(url: str, settings: Settings, customers: int = 300,
                       plan: SeedPlan | None = None) -> Demo:
    org = await make_org()
    admin = await make_user(org)
    await seed(url, org.id, plan or SeedPlan(customers=customers, seed=5), [admin.id])
    schedule = settings.model_copy(update={"ml_retrain_interval": timedelta(days=1)})
    trainer = Trainer(url, schedule)
    try:
        [run_id] = await retrain_due(trainer, schedule, among=[org.id])
        deadline = datetime.now(UTC) + timedelta(seconds=180)
        while True:
            run = await predictions.get_run(run_id=run_id)
            assert run is not None
            if run["status"] in (RunStatus.SUCCEEDED, RunStatus.FAILED):
                break
            assert datetime.now(UTC) < deadline, run
            await asyncio.sleep(0.2)
    finally:
        await trainer.close()
    return Demo(org, admin, run, trainer)
