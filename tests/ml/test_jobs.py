"""Scheduled training: a server trains the organizations that are due, in a worker process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.cli import DEMO_CUSTOMERS, DEMO_ORDERS_PER_CUSTOMER
from app.seed import SeedPlan
from db import prediction as predictions
from db import prediction_registry as registry
from db.prediction_models import RunStatus
from db.sql import fetch
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
    # segments a marketer can act on (they were "Champions" 45 %, leads "Hibernating"):
    # no segment holds most customers, none who never paid is anything but a prospect, and
    # no champion is a customer the team marked CHURNED
    sizes = await predictions.segment_sizes(org_id=demo.org.id)
    assert len(sizes) >= 4, sizes
    assert max(sizes.values()) <= 0.4 * sum(sizes.values()), sizes
    rows = await fetch(
        "SELECT c.stage::text AS stage, p.segment, EXISTS (SELECT 1 FROM customer_order o"
        " WHERE o.customer_id = c.id AND o.status = 'PAID') AS paid, count(*) AS n"
        " FROM prediction p JOIN customer c ON c.id = p.customer_id"
        " WHERE p.organization_id = $1 GROUP BY 1, 2, 3", [demo.org.id])
    assert all((r["segment"] == "Prospects") == (not r["paid"]) for r in rows), rows
    assert not [r for r in rows if r["segment"] == "Champions" and r["stage"] == "CHURNED"]


async def test_a_run_whose_recommendation_lists_fail_changes_no_prediction(
        db: str, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # predictions and lists are written side by side in one transaction: when the lists fail,
    # the predictions written meanwhile are rolled back with them and the run says why
    from db.sql import fetch
    from ml import recommend_job

    demo = await trained_demo(db, settings)
    before = [dict(r) for r in await fetch(
        "SELECT customer_id, model_version, churn_risk FROM prediction"
        " WHERE organization_id = $1 ORDER BY customer_id", [demo.org.id])]
    assert before
    write = recommend_job.write

    async def failing(*args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        await write(*args, **kwargs)
        raise RuntimeError("the lists' disk is full")

    monkeypatch.setattr(recommend_job, "write", failing)
    finished = await _train_here(demo, settings)
    assert finished["status"] == RunStatus.FAILED
    assert finished["error"] == "RuntimeError: the lists' disk is full"
    after = [dict(r) for r in await fetch(
        "SELECT customer_id, model_version, churn_risk FROM prediction"
        " WHERE organization_id = $1 ORDER BY customer_id", [demo.org.id])]
    assert after == before
    active = await registry.active_models(org_id=demo.org.id)
    assert {m["training_run_id"] for m in active.values()} == {demo.run["id"]}


async def test_lists_written_while_training_ran_are_rolled_back_when_training_fails(
        db: str, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # the lists are written in the run's transaction while churn and revenue still train; a
    # training failure after that leaves the lists (and everything else) as they were
    import threading

    from db.sql import fetch
    from ml import recommend_job, training

    demo = await trained_demo(db, settings)
    lists = ("SELECT customer_id, product_ids, scores FROM recommendation_list"
             " WHERE organization_id = $1 ORDER BY customer_id")
    before = [dict(r) for r in await fetch(lists, [demo.org.id])]
    assert before
    written = threading.Event()
    write = recommend_job.write

    async def noted(*args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        await write(*args, **kwargs)
        written.set()

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        assert written.wait(60), "the lists were not written while training ran"
        raise MemoryError("out of memory while training")

    monkeypatch.setattr(recommend_job, "write", noted)
    monkeypatch.setattr(training, "train_all", failing)
    finished = await _train_here(demo, settings)
    assert finished["status"] == RunStatus.FAILED
    assert finished["error"] == "MemoryError: out of memory while training"
    assert [dict(r) for r in await fetch(lists, [demo.org.id])] == before
    active = await registry.active_models(org_id=demo.org.id)
    assert {m["training_run_id"] for m in active.values()} == {demo.run["id"]}


async def test_a_statistics_refresh_failing_after_the_commit_does_not_call_the_run_failed(
        db: str, settings, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    from db import recommendation as recommendations

    demo = await trained_demo(db, settings)

    async def refused() -> None:
        raise ConnectionResetError("the server went away")

    monkeypatch.setattr(recommendations, "refresh_statistics", refused)
    finished = await _train_here(demo, settings)
    assert finished["status"] == RunStatus.SUCCEEDED
    assert f"run {finished['id']} succeeded; refreshing" in caplog.text
    assert "failed" not in caplog.text.split("refreshing")[0]


async def _train_here(demo: Demo, settings) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """Another training run of the demo, in this process (so a failure can be planted)."""
    from db import prediction as predictions
    from ml import jobs

    run, _ = await predictions.start_run(org_id=demo.org.id, user_id=demo.admin.id,
                                         as_of=datetime.now(UTC), horizon_days=90,
                                         backtest=False)
    await jobs._train(settings, run["id"])
    finished = await predictions.get_run(run_id=run["id"])
    assert finished is not None
    return finished
