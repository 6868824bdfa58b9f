"""Raw SQL helpers for reads the ORM cannot express efficiently (keyset pages, LATERAL joins)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg
from tortoise import connections
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.models import Model

from core import database

_log = logging.getLogger("tortoise.db_client")

Row = Mapping[str, Any]  # a row read by column name: a dict or an asyncpg record


class Params:
    """Collects positional query parameters and hands out their ``$n`` placeholders."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def client(using: BaseDBAsyncClient | None = None) -> BaseDBAsyncClient:
    """The connection to run on: the given transaction, or the default pool."""
    return using if using is not None else connections.get("default")


def replica() -> BaseDBAsyncClient:
    """Where heavy reads go (exports, analytics, training history): the read replica given by
    ``DATABASE_REPLICA_URL``, else the default pool. It may lag the primary a little."""
    replica_client: BaseDBAsyncClient | None = database.replica_client()
    return replica_client if replica_client is not None else connections.get("default")


# the pool a run of sequential reads took one connection from, and that connection
# (``one_connection``), if any
_held: ContextVar[tuple[asyncpg.Pool, asyncpg.Connection] | None] = ContextVar(
    "held_connection", default=None
)


def _pool_of(db: BaseDBAsyncClient) -> asyncpg.Pool | None:
    """``db``'s own asyncpg pool, or None when it is not a pool client (a transaction)."""
    return db._pool if type(db) is AsyncpgDBClient else None


@asynccontextmanager
async def one_connection() -> AsyncIterator[None]:
    """Run the reads inside on one pool connection, acquired once.

    Each read through the pool acquires and releases a connection (a fifth of a statement's
    client CPU); a compiled query's batches run one after another, so they can share one as
    hand-written code does. Only for strictly sequential reads outside a transaction: reads
    started concurrently inside would collide on the connection.
    """
    pool = _pool_of(client())
    if pool is None or _held.get() is not None:
        yield
        return
    async with pool.acquire() as connection:
        token = _held.set((pool, connection))
        try:
            yield
        finally:
            _held.reset(token)


async def _pool_fetch(db: BaseDBAsyncClient, sql: str, values: Sequence[Any]) -> list[Any] | None:
    """Records of a read straight from the pool, or None when ``db`` is not the pool itself.

    Tortoise's own path wraps each statement in three more coroutines and a context manager
    (a sixth of a light request's CPU); outside a transaction a read needs none of that. Errors
    and the DEBUG log line (which tests count statements by) are Tortoise's.
    """
    pool = _pool_of(db)
    if pool is None:
        return None
    if _log.isEnabledFor(logging.DEBUG):
        _log.debug("%s: %s", sql, list(values))
    held = _held.get()
    try:
        if held is not None and held[0] is pool:  # a read for the replica keeps its own pool
            return list(await held[1].fetch(sql, *values))
        return list(await pool.fetch(sql, *values))
    except (asyncpg.SyntaxOrAccessError, asyncpg.exceptions.DataError) as exc:
        raise OperationalError(exc) from exc
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(exc) from exc


async def fetch(
    sql: str, values: Sequence[Any] = (), using: BaseDBAsyncClient | None = None
) -> list[dict[str, Any]]:
    """Rows of ``sql`` as dicts."""
    db = client(using)
    records = await _pool_fetch(db, sql, values)
    if records is None:
        return await db.execute_query_dict(sql, list(values))
    return [dict(record) for record in records]


async def fetch_rows(
    sql: str, values: Sequence[Any] = (), using: BaseDBAsyncClient | None = None
) -> list[Row]:
    """Rows of ``sql`` as read-only mappings (asyncpg's records, not copied into dicts)."""
    db = client(using)
    records = await _pool_fetch(db, sql, values)
    if records is None:
        _, rows = await db.execute_query(sql, list(values))
        return list(rows)
    return records


async def fetch_one(
    sql: str, values: Sequence[Any] = (), using: BaseDBAsyncClient | None = None
) -> dict[str, Any] | None:
    """The first row of ``sql``, or None."""
    rows = await fetch(sql, values, using)
    return rows[0] if rows else None


def escape_like(term: str) -> str:
    """``term`` with LIKE wildcards escaped, for use inside ``%...%``."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def row_of(obj: Model) -> dict[str, Any]:
    """A model instance as the same dict a raw ``SELECT`` of its columns returns."""
    return {column: getattr(obj, name) for name, column in obj._meta.fields_db_projection.items()}


def violated_constraint(exc: BaseException) -> str | None:
    """The name of the unique or check constraint behind an integrity error, if any."""
    for error in (exc, exc.__cause__, *(exc.args or ())):
        name = getattr(error, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None
