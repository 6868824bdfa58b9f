"""Prometheus metrics of this process, and what a request has done so far (``Observation``).

Any layer may record here: ``metrics.rate_limit_rejected("http")``, ``metrics.SUBSCRIPTIONS_OPEN``.
With ``PROMETHEUS_MULTIPROC_DIR`` set (``crm serve --workers N`` sets it) every process writes
its samples to files there and a scrape of any process adds them up; gauges of this process
(pool, subscriptions) count while the process lives. Gauges read from the database (outbox
depth, deliveries, training runs, models) are not here: ``app/metrics_route.py`` reads them
when scraped.
"""

from __future__ import annotations

import os
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

# the operation names clients choose become label values: bounded, so a client cannot inflate
# every scrape (later names count as "other")
MAX_OPERATION_NAMES = 200
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
STATEMENT_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144)

# the library opens its sample files there as the metrics below are made (at import, before any
# command runs): a folder that does not exist yet (compose.yaml names one under /tmp) is made
if _shared := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(_shared, exist_ok=True)

HTTP_REQUESTS = Histogram(
    "crm_http_request_duration_seconds", "HTTP requests by method, route and status",
    ["method", "route", "status"], buckets=LATENCY_BUCKETS,
)
GRAPHQL_OPERATIONS = Histogram(
    "crm_graphql_operation_duration_seconds",
    "GraphQL operations over HTTP by operation name and outcome (ok, error)",
    ["operation", "outcome"], buckets=LATENCY_BUCKETS,
)
GRAPHQL_ERRORS = Counter("crm_graphql_errors_total", "GraphQL errors by code", ["code"])
SQL_STATEMENTS = Histogram(
    "crm_graphql_sql_statements", "SQL statements per GraphQL operation", ["operation"],
    buckets=STATEMENT_BUCKETS,
)
SQL_SECONDS = Histogram(
    "crm_graphql_sql_seconds", "Time in SQL statements per GraphQL operation", ["operation"],
    buckets=LATENCY_BUCKETS,
)
POOL_CONNECTIONS = Gauge(
    "crm_db_pool_connections", "Database pool connections by state (in_use, idle, waiting)",
    ["state"], multiprocess_mode="livesum",
)
SUBSCRIPTIONS_OPEN = Gauge(
    "crm_subscriptions_open", "Live GraphQL subscriptions", multiprocess_mode="livesum"
)
SUBSCRIPTIONS_DROPPED = Counter(
    "crm_subscriptions_dropped_total", "Subscribers closed for falling too far behind"
)
RATE_LIMIT_REJECTIONS = Counter(
    "crm_rate_limit_rejections_total", "Requests refused by a rate limit", ["limit"]
)

_operation_names: set[str] = set()
# labelled children by metric and label values: ``labels()`` costs a lock and a few string
# conversions per call, this a dict lookup (four observations per GraphQL request)
_children: dict[tuple[object, ...], Any] = {}


def _child(metric: Any, *values: str) -> Any:
    key = (id(metric), *values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


def operation_label(name: str | None) -> str:
    """The label value for an operation name: the name, ``anonymous`` or ``other``."""
    if not name:
        return "anonymous"
    if name in _operation_names:
        return name
    if len(_operation_names) >= MAX_OPERATION_NAMES or not name.isidentifier():
        return "other"
    _operation_names.add(name)
    return name


@dataclass(slots=True)
class Observation:
    """What one request did, filled in as it travels (operation, caller, SQL, errors)."""

    request_id: str
    websocket: bool = False
    started: float = field(default_factory=time.perf_counter)
    operation: str | None = None
    graphql: bool = False
    error_codes: list[str] = field(default_factory=list)
    organization_id: int | None = None
    user_id: int | None = None
    api_key_id: int | None = None
    sql_statements: int = 0
    sql_seconds: float = 0.0


current: ContextVar[Observation | None] = ContextVar("crm_observation", default=None)


def count_statement(seconds: float) -> None:
    """Add one SQL statement that took ``seconds`` to the current request (if any)."""
    observation = current.get()
    if observation is not None:
        observation.sql_statements += 1
        observation.sql_seconds += seconds


def graphql_operation(name: str | None, error_codes: list[str] | None = None) -> None:
    """Note the GraphQL operation the current request runs, and its errors' codes."""
    observation = current.get()
    if observation is not None and not observation.websocket:
        observation.graphql = True
        observation.operation = name
        if error_codes:
            observation.error_codes.extend(error_codes)
    elif error_codes:  # a websocket operation: its errors still count
        for code in error_codes:
            GRAPHQL_ERRORS.labels(code).inc()


def finish(observation: Observation, method: str, route: str, status: int) -> float:
    """Record a finished request; returns its duration in seconds."""
    seconds = time.perf_counter() - observation.started
    _child(HTTP_REQUESTS, method, route, str(status)).observe(seconds)
    if observation.graphql:
        operation = operation_label(observation.operation)
        outcome = "error" if observation.error_codes or status >= 400 else "ok"
        _child(GRAPHQL_OPERATIONS, operation, outcome).observe(seconds)
        _child(SQL_STATEMENTS, operation).observe(observation.sql_statements)
        _child(SQL_SECONDS, operation).observe(observation.sql_seconds)
        for code in observation.error_codes:
            _child(GRAPHQL_ERRORS, code).inc()
    return seconds


def rate_limit_rejected(limit: str) -> None:
    """Count a request refused by the rate limit named ``limit``."""
    RATE_LIMIT_REJECTIONS.labels(limit).inc()


def pool_sampled(in_use: int, idle: int, waiting: int) -> None:
    """Record this process's database pool state."""
    POOL_CONNECTIONS.labels("in_use").set(in_use)
    POOL_CONNECTIONS.labels("idle").set(idle)
    POOL_CONNECTIONS.labels("waiting").set(waiting)

