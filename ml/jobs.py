"""Training and scoring jobs, run in worker processes so the server's event loop never waits.

The parent only queues work (``Trainer.start``); the worker connects to the database itself,
loads the history, trains, reports progress on the run row and publishes models and scores in
one transaction.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core import database
from core.config import Settings
from db import prediction as predictions
from db import prediction_registry as registry
from db import recommendation as recommendations
from db.prediction_models import RunStatus
from db.sql import fetch_one
from ml import batches, score_history
from ml import history as histories
from ml.features import to_day

log = logging.getLogger("crm.ml")
FOLLOW_INTERVAL = 0.25
T = TypeVar("T")


def _in_worker(url: str, settings: Settings, job: Any, *args: Any) -> Any:
    """Run an async job in this worker process with its own database connection."""

    async def main() -> Any:
        await database.connect(url, settings)
        try:
            return await job(settings, *args)
        finally:
            await database.disconnect()

    # BLAS/OpenMP threads: on a shared machine more threads than cores only fight each other.
    # The variables reach the training thread too (OpenMP's per-thread limits would not).
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(settings.ml_threads)
    return asyncio.run(main())


def run_training(url: str, settings: Settings, run_id: int) -> None:
    """Process entry point: execute one training run."""
    _in_worker(url, settings, _train, run_id)


def run_rescoring(url: str, settings: Settings, org_id: int) -> int:
    """Process entry point: re-score an organization's changed customers; returns how many."""
    return int(_in_worker(url, settings, _rescore, org_id))


async def _train(settings: Settings, run_id: int) -> None:
    run = await predictions.claim_run(run_id)
    if run is None:
        return
    try:
        await _train_claimed(settings, run)
    except Exception as exc:
        log.exception("training run %s failed", run_id)
        await predictions.finish_run(run_id, RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}")


async def _train_claimed(settings: Settings, run: dict[str, Any]) -> None:
    # custom predictions read, train and write on their own: they run beside the other kinds
    # (scikit-learn's fitting and prediction release the GIL; their reads and writes wait on
    # PostgreSQL), and the run's final transaction waits for them
    custom = None if run["backtest"] else asyncio.create_task(
        _custom_predictions(run["organization_id"], run["id"], run["as_of"]),
        name=f"custom-predictions-{run['id']}")
    try:
        await _train_all_kinds(settings, run, custom)
    finally:
        await batches.cancelled(custom)


async def _custom_predictions(org_id: int, run_id: int, as_of: datetime) -> list[dict[str, Any]]:
    """Train, register and score every custom prediction; their results for the run."""
    from ml import score_job  # scikit-learn and scipy load in workers only, not in the server
    try:
        return await score_job.train_and_score(org_id=org_id, run_id=run_id, as_of=as_of)
    except Exception as exc:  # the other kinds stay trained and served
        log.exception("custom predictions of run %s failed", run_id)
        return [{"kind": "SCORE", "status": "NOT_ACTIVATED", "metrics": {},
                 "message": f"custom predictions failed: {type(exc).__name__}: {exc}"}]


async def _train_all_kinds(settings: Settings, run: dict[str, Any],
                           custom: asyncio.Task[list[dict[str, Any]]] | None) -> None:
    from ml import recommend_job
    from ml.training import train_all

    loop = asyncio.get_running_loop()
    org_id, as_of, horizon = run["organization_id"], run["as_of"], run["horizon_days"]
    # models learn from a fixed sample of customers; everyone is scored, a batch at a time
    ids = await score_history.customer_ids(org_id=org_id)
    sample = batches.training_sample(ids, settings.ml_max_training_customers)
    history = await histories.load_history(org_id=org_id, as_of=as_of, customer_ids=sample)
    sales = None if sample is None else await histories.load_sales(org_id=org_id, as_of=as_of)

    def progress(fraction: float, stage: str) -> None:
        asyncio.run_coroutine_threadsafe(
            predictions.report_progress(run["id"], fraction, stage), loop
        ).result()

    # the recommender reads order lines and trains beside the other kinds (a live run's only)
    recommending = None if run["backtest"] else asyncio.create_task(
        recommend_job.train(org_id=org_id, as_of=as_of, window_days=horizon,
                            customer_ids=sample),
        name=f"recommendations-{run['id']}")
    training = asyncio.ensure_future(asyncio.to_thread(
        train_all, history, to_day(as_of), float(horizon), progress=progress,
        max_rows=settings.ml_max_training_rows, sales=sales,
    ))
    try:
        if run["backtest"]:
            await _report_backtest(run, history, await training, sample)
            return
        del history  # scoring reads its own batches
        assert recommending is not None  # a live run
        assert custom is not None
        trained = await _awaited(run["id"], recommending, 0.78, "training recommendations",
                                 beside=training)
        # the transaction opens when its first writes can start (``_publish``)
        await asyncio.wait([custom, training], return_when=asyncio.FIRST_COMPLETED)
        async with in_transaction() as conn:
            await _publish(run, ids, training, trained, custom, conn)
    finally:
        await batches.cancelled(recommending)
        await batches.cancelled(training)  # after a failure: its result is not needed
    if trained.model is not None:
        try:
            await recommendations.refresh_statistics()
        except Exception as exc:  # committed: the run succeeded; only the planner waits longer
            log.warning("run %s succeeded; refreshing the recommendation lists' statistics"
                        " after it failed: %s: %s", run["id"], type(exc).__name__, exc)


async def _awaited(run_id: int, task: asyncio.Future[T], fraction: float, stage: str, *,
                   beside: asyncio.Future[Any] | None = None) -> T:
    """``task``'s result; when the run is left waiting for it alone (``beside`` done, when
    given), the run's progress says ``stage`` meanwhile."""
    if beside is not None and not task.done():
        await asyncio.wait([task, beside], return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        await predictions.report_progress(run_id, fraction, stage)
    return await task


async def _publish(run: dict[str, Any], ids: Any, training: asyncio.Future[Any],
                   trained: Any, custom: asyncio.Task[list[dict[str, Any]]],
                   conn: BaseDBAsyncClient) -> None:
    """In the run's one transaction: every customer's recommendation list (``trained``: the
    recommender's outcome), the models, every customer's predictions, and the run's results
    (the custom predictions' included); a failure anywhere rolls all of it back.

    Called once the custom predictions or the other kinds are done, whichever is first. In a
    smaller organization the custom predictions finish while churn and revenue still train:
    fitting one booster keeps one core busy, and ranking the lists and PostgreSQL's writing of
    them fill the other. In a large one the other kinds finish first, and the lists and the
    predictions are written while the custom predictions still score everyone. (The lists are
    not started earlier: beside the custom predictions' training they only slow it down.)
    """
    from ml import publish, recommend_job

    org_id, as_of, horizon = run["organization_id"], run["as_of"], run["horizon_days"]
    lists = None if trained.model is None else asyncio.create_task(recommend_job.write(
        trained, org_id=org_id, as_of=as_of, ids=ids, using=conn), name=f"lists-{run['id']}")
    try:
        outcomes = await training
        previous = await registry.active_models(org_id=org_id)
        keep = publish.kinds_to_keep(outcomes, previous, horizon, False)
        outcomes[recommend_job.KIND] = trained.outcome
        if trained.model is None:
            keep.append(recommend_job.KIND)  # the earlier active recommender still serves
        models = publish.scoring_models(outcomes, previous, keep)
        await predictions.report_progress(run["id"], 0.9, "scoring customers and saving")
        active = await registry.publish(
            publish.new_models(outcomes), org_id=org_id, run_id=run["id"], as_of=as_of,
            horizon_days=horizon, backtest=False, keep=keep, using=conn,
        )
        # predictions are computed and written while the lists finish; their statements take
        # turns on the transaction's connection, and a failure of either stops the other
        await batches.side_by_side(
            batches.score_and_write(
                models, ids, org_id=org_id, as_of=as_of, horizon_days=horizon,
                model_version=registry.version_label(active), using=conn,
            ),
            *([] if lists is None else [lists]),
        )
        custom_results = await _awaited(run["id"], custom, 0.95, "finishing custom predictions")
        await predictions.finish_run(
            run["id"], RunStatus.SUCCEEDED,
            results=publish.results(outcomes, active, run["id"]) + custom_results,
            using=conn,
        )
    finally:
        await batches.cancelled(lists)


async def _report_backtest(run: dict[str, Any], history: Any, outcomes: Any,
                           sample: list[int] | None) -> None:
    """Score as of the run's date with its own models and compare with what then happened
    (for the customers it trained on); the live models and scores are left as they are."""
    from ml import backtest, publish
    from ml.scoring import score

    await predictions.report_progress(run["id"], 0.8, "comparing with what happened")
    now = datetime.now(UTC)
    after = await histories.load_history(org_id=run["organization_id"], as_of=now,
                                         customer_ids=sample)
    models = publish.scoring_models(outcomes, {}, [])
    scores = await asyncio.to_thread(
        score, history, to_day(run["as_of"]), models
    ) if publish.has_scoring_model(models) else None
    report = {} if scores is None else await asyncio.to_thread(
        backtest.report, scores, after, to_day(run["as_of"]), float(run["horizon_days"]),
        to_day(now),
    )
    await predictions.finish_run(
        run["id"], RunStatus.SUCCEEDED, results=publish.backtest_results(outcomes, report),
    )


async def _rescore(settings: Settings, org_id: int) -> int:
    async with in_transaction() as conn:
        # one process re-scores an organization at a time; the others skip it
        locked = await fetch_one(
            "SELECT pg_try_advisory_xact_lock(hashtextextended('crm.ml.rescore:' || $1::bigint, 0))"
            " AS ok", [org_id], conn,
        )
        if locked and locked["ok"]:
            return await _rescore_locked(settings, org_id, conn)
    return 0


async def _rescore_locked(settings: Settings, org_id: int, conn: BaseDBAsyncClient) -> int:
    from ml import publish
    active = await registry.active_models(org_id=org_id)
    if not active or any(row["backtest"] for row in active.values()):
        return 0  # backtests score a fixed past; nothing there changes
    stale = await predictions.stale_customers(
        org_id=org_id, max_age=timedelta(seconds=settings.ml_max_score_age_seconds),
        limit=settings.ml_rescore_batch,
    )
    if not stale:
        return 0
    now = datetime.now(UTC)
    history = await histories.load_history(org_id=org_id, as_of=now, customer_ids=stale)
    models = publish.load_models(active)
    horizon = next(iter(active.values()))["horizon_days"]
    scores = await asyncio.to_thread(publish.score_rows, history, now, models)
    await predictions.write_predictions(
        scores, org_id=org_id, model_version=registry.version_label(active), as_of=now,
        horizon_days=horizon, replace_all=False, using=conn,
    )
    from ml import score_job
    await score_job.score_customers(
        await score_job.served_models(org_id=org_id), org_id=org_id, as_of=now,
        customer_ids=stale,
    )
    return len(scores.customer_ids)

# glibc gives threads that allocate at once arenas of their own, up to 8 per core; a run's
# threads (training, scoring, lists, custom predictions) then keep freed memory apart: 1.59 GB
# peak at 1,000,000 customers against 1.18 GB with two arenas, and no slower (bench/ML.md)
WORKER_ENVIRONMENT = {"MALLOC_ARENA_MAX": "2"}


def worker_context() -> BaseContext:
    """The context ML workers start in: spawned (forking a process with running threads, as
    uvloop's and asyncpg's, is unsafe), with ``WORKER_ENVIRONMENT`` unless the operator set it
    (children inherit the environment; this process's allocator has read it already)."""
    for name, value in WORKER_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    return get_context("spawn")


class Trainer:
    """A process pool for ML jobs, and the tasks in this process waiting on it."""

    def __init__(self, url: str, settings: Settings) -> None:
        self.url = url
        self.settings = settings
        self._pool: ProcessPoolExecutor | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.settings.ml_workers, mp_context=worker_context()
            )
        return self._pool

    async def train(self, run_id: int) -> None:
        """Run a training run to its end in a worker (a crashed worker fails the run)."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                self._executor(), run_training, self.url, self.settings, run_id
            )
        except Exception as exc:
            log.exception("training worker for run %s died", run_id)
            await predictions.finish_run(run_id, RunStatus.FAILED, error=f"worker died: {exc}")

    def start(self, run_id: int) -> asyncio.Task[None]:
        """Queue a training run in the background and return at once."""
        task = asyncio.create_task(self.train(run_id), name=f"training-run-{run_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def rescore(self, org_id: int) -> int:
        """Re-score an organization's changed customers in a worker."""
        loop = asyncio.get_running_loop()
        return int(await loop.run_in_executor(
            self._executor(), run_rescoring, self.url, self.settings, org_id
        ))

    async def close(self) -> None:
        """Stop waiting, drop queued jobs and let running workers finish their job."""
        for task in list(self._tasks):
            task.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


_trainers: dict[str, Trainer] = {}


def trainer_for(url: str, settings: Settings) -> Trainer:
    """This process's trainer for a database (created on first use)."""
    if url not in _trainers:
        _trainers[url] = Trainer(url, settings)
    return _trainers[url]


async def close_trainers() -> None:
    """Shut every trainer of this process down."""
    while _trainers:
        await _trainers.popitem()[1].close()


async def rescore_all(trainer: Trainer) -> int:
    """Re-score the changed customers of every organization with live models."""
    total = 0
    for org_id in await registry.organizations_with_live_models():
        total += await trainer.rescore(org_id)
    return total


async def _rescore_forever(trainer: Trainer, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            count = await rescore_all(trainer)
            if count:
                log.info("re-scored %s customers", count)
        except Exception:
            log.exception("background re-scoring failed; trying again later")


async def retrain_due(
    trainer: Trainer, settings: Settings, among: Sequence[int] | None = None
) -> list[int]:
    """Start a live training run for every organization (``among`` these, if given) due one;
    returns the runs started."""
    started = []
    now = datetime.now(UTC)
    for org_id in await predictions.organizations_due_for_training(
        trained_before=now - settings.ml_retrain_interval, among=among
    ):
        run, created = await predictions.start_run(
            org_id=org_id, user_id=None, as_of=now, horizon_days=settings.ml_horizon_days,
            backtest=False,
        )
        if created:  # another server process may have queued it first
            log.info("training the models of organization %s (run %s)", org_id, run["id"])
            trainer.start(run["id"])
            started.append(int(run["id"]))
    return started


async def _retrain_forever(trainer: Trainer, settings: Settings) -> None:
    while True:
        try:
            await retrain_due(trainer, settings)
        except Exception:
            log.exception("scheduling training failed; trying again later")
        await asyncio.sleep(settings.ml_retrain_check_seconds)


@asynccontextmanager
async def prediction_service(app: Any, settings: Settings) -> AsyncIterator[None]:
    """App service: scheduled training, periodic re-scoring of changed customers, and the
    worker pool's shutdown."""
    trainer = trainer_for(app.state.database_url, settings)
    interval = settings.ml_rescore_interval_seconds
    tasks = [asyncio.create_task(_rescore_forever(trainer, interval))] if interval > 0 else []
    if settings.ml_retrain_interval:
        tasks.append(asyncio.create_task(_retrain_forever(trainer, settings)))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await close_trainers()


async def train_and_follow(
    url: str, settings: Settings, *, org_id: int, as_of: datetime | None, horizon_days: int,
    progress: Callable[[float, str], None],
) -> dict[str, Any]:
    """Start a run (or join the one in flight), report its progress until it ends, return it."""
    run, created = await predictions.start_run(
        org_id=org_id, user_id=None, as_of=as_of or datetime.now(UTC),
        horizon_days=horizon_days, backtest=as_of is not None,
    )
    trainer = Trainer(url, settings)
    if created:
        trainer.start(run["id"])
    try:
        while True:
            row = await predictions.get_run(run_id=run["id"])
            assert row is not None
            progress(row["progress"], row["stage"])
            if row["status"] in (RunStatus.SUCCEEDED, RunStatus.FAILED):
                return row
            await asyncio.sleep(FOLLOW_INTERVAL)  # a progress display, not synchronisation
    finally:
        await trainer.close()
