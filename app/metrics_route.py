"""``GET /metrics``: Prometheus text, for loopback clients or holders of ``CRM_METRICS_TOKEN``.

The process metrics (``core/metrics.py``; every server process's, added up, when they share
``PROMETHEUS_MULTIPROC_DIR``) plus gauges read from the database at scrape time: outbox depth
and age, deliveries by status, webhook lag, training runs, active models. Requests never pay
for those.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from ipaddress import ip_address
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core import database
from core.config import Settings
from core.errors import ErrorCode
from db import observability

log = logging.getLogger("crm.metrics")
POOL_SAMPLE_SECONDS = 5.0


def routes(settings: Settings) -> list[Route]:
    """The /metrics route."""

    async def scrape(request: Request) -> Response:
        refusal = _refusal(request, settings)
        if refusal is not None:
            return refusal
        database.sample_pool()
        registry = CollectorRegistry(auto_describe=False)
        if settings.prometheus_multiproc_dir is not None:
            MultiProcessCollector(  # type: ignore[no-untyped-call]
                registry, path=str(settings.prometheus_multiproc_dir)
            )
        else:
            registry.register(_Forward(REGISTRY))
        try:
            registry.register(_Fixed(list(_database_metrics(await observability.snapshot()))))
        except Exception:  # the process metrics still tell what happened
            log.warning("database metrics unavailable", exc_info=True)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", scrape, methods=["GET"])]


@asynccontextmanager
async def pool_sampler(app: Any, settings: Settings) -> AsyncIterator[None]:
    """With several server processes, each records its pool state every few seconds (a
    scrape reaches one process, which samples its own at once)."""
    if settings.prometheus_multiproc_dir is None:
        yield
        return

    async def sample() -> None:
        while True:
            database.sample_pool()
            await asyncio.sleep(POOL_SAMPLE_SECONDS)

    task = asyncio.create_task(sample(), name="pool-sampler")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def forget_process(settings: Settings) -> None:
    """Drop this stopping process's live gauges (pool, subscriptions) from the shared ones."""
    if settings.prometheus_multiproc_dir is not None:
        mark_process_dead(  # type: ignore[no-untyped-call]
            os.getpid(), str(settings.prometheus_multiproc_dir)
        )


def _refusal(request: Request, settings: Settings) -> Response | None:
    """Why the caller may not read the metrics (None: they may)."""
    if settings.metrics_token is not None:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {settings.metrics_token}"
        if hmac.compare_digest(given.encode(), expected.encode()):
            return None
        return _error(401, ErrorCode.UNAUTHENTICATED,
                      "send Authorization: Bearer <CRM_METRICS_TOKEN> to read the metrics")
    host = request.client.host if request.client else ""
    try:
        if ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return _error(403, ErrorCode.FORBIDDEN,
                  "metrics are served to loopback clients only unless CRM_METRICS_TOKEN is set")


def _error(status: int, code: ErrorCode, message: str) -> Response:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code.value}}]}, status
    )


def _database_metrics(snapshot: observability.Snapshot) -> Iterator[Metric]:
    outbox = GaugeMetricFamily("crm_outbox_depth", "Email waiting to be sent (QUEUED, SENDING)")
    outbox.add_metric([], snapshot.outbox_depth)
    yield outbox
    age = GaugeMetricFamily(
        "crm_outbox_oldest_age_seconds", "Age of the oldest email waiting to be sent"
    )
    age.add_metric([], snapshot.outbox_oldest_age_seconds)
    yield age
    deliveries = GaugeMetricFamily(
        "crm_deliveries", "Email messages and webhook deliveries by status",
        labels=["channel", "status"],
    )
    for (channel, status), count in sorted(snapshot.deliveries.items()):
        deliveries.add_metric([channel, status], count)
    yield deliveries
    lag = GaugeMetricFamily(
        "crm_webhook_lag_seconds", "How long the oldest due webhook delivery has waited"
    )
    lag.add_metric([], snapshot.webhook_lag_seconds)
    yield lag
    runs = CounterMetricFamily(
        "crm_training_runs", "Model training runs by status", labels=["status"]
    )
    durations = CounterMetricFamily(
        "crm_training_run_duration_seconds", "Time spent in finished training runs",
        labels=["status"],
    )
    for status, (count, seconds) in sorted(snapshot.training_runs.items()):
        runs.add_metric([status], count)
        durations.add_metric([status], seconds)
    yield runs
    yield durations
    models = GaugeMetricFamily(
        "crm_models_active", "Active model versions by kind", labels=["kind"]
    )
    newest = GaugeMetricFamily(
        "crm_model_active_version_max", "Highest active model version by kind", labels=["kind"]
    )
    for kind, (count, version) in sorted(snapshot.active_models.items()):
        models.add_metric([kind], count)
        newest.add_metric([kind], version)
    yield models
    yield newest


class _Fixed(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self.metrics


class _Forward(Collector):
    """This process's registry inside the per-scrape one."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()  # type: ignore[no-any-return]
