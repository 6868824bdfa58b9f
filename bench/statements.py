"""SQL statements per request, counted where they leave the process: asyncpg's Connection.

The app (through Tortoise) and the baseline (directly) both talk to PostgreSQL through
``asyncpg.connection.Connection``; while recording, every ``_execute``/``_executemany`` call
(prepared statements: fetch, fetchrow, execute with arguments) and every argument-less
``execute`` (simple protocol, e.g. the pool's reset on release) is one round trip to the server.
The apps run in this process through httpx's ASGITransport, so nothing else is counted.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from asyncpg.connection import Connection
from starlette.applications import Starlette


@dataclass(frozen=True)
class Statement:
    sql: str
    args: tuple[Any, ...]
    pool_reset: bool  # the pool's reset query on releasing a connection


@dataclass
class StatementCount:
    """The statements of ``requests`` identical requests."""

    requests: int
    statements: list[Statement] = field(default_factory=list)
    tortoise_logged: int = 0  # what Tortoise's DEBUG log shows (tests/statements.py counts so)

    @property
    def per_request(self) -> float:
        """Statements the application sends per request (pool resets excluded)."""
        return sum(not s.pool_reset for s in self.statements) / self.requests

    @property
    def resets_per_request(self) -> float:
        """Pool reset round trips per request."""
        return sum(s.pool_reset for s in self.statements) / self.requests

    def distinct(self) -> list[str]:
        """The application's statements of one request, shortened, in order."""
        per = [s for s in self.statements if not s.pool_reset]
        return [" ".join(s.sql.split())[:140] for s in per[: len(per) // self.requests]]

    def as_dict(self) -> dict[str, Any]:
        return {"per_request": self.per_request, "pool_resets_per_request":
                self.resets_per_request, "statements": self.distinct(),
                "tortoise_logged_per_request": self.tortoise_logged / self.requests}


class _Recorder:
    def __init__(self) -> None:
        self.log: list[Statement] | None = None
        self.installed = False

    def install(self) -> None:
        if self.installed:
            return
        self.installed = True
        recorder = self
        execute, execute_prepared, execute_many = (
            Connection.execute, Connection._execute, Connection._executemany
        )

        async def simple(conn: Connection, query: str, *args: Any, **kw: Any) -> Any:
            if not args and recorder.log is not None:
                recorder.log.append(Statement(query, (), query == conn.get_reset_query()))
            return await execute(conn, query, *args, **kw)

        async def prepared(conn: Connection, query: str, args: Any, *rest: Any, **kw: Any) -> Any:
            if recorder.log is not None:
                recorder.log.append(Statement(query, tuple(args), False))
            return await execute_prepared(conn, query, args, *rest, **kw)

        async def many(conn: Connection, query: str, args: Any, *rest: Any, **kw: Any) -> Any:
            if recorder.log is not None:
                recorder.log.append(Statement(query, ("<many>",), False))
            return await execute_many(conn, query, args, *rest, **kw)

        Connection.execute = simple
        Connection._execute = prepared
        Connection._executemany = many


_recorder = _Recorder()


@contextmanager
def recording() -> Iterator[list[Statement]]:
    """Collect the statements every asyncpg connection of this process sends meanwhile."""
    _recorder.install()
    _recorder.log = []
    try:
        yield _recorder.log
    finally:
        _recorder.log = None


@asynccontextmanager
async def in_process(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to ``app`` in this process, with its lifespan running."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            yield http


async def count(
    send: Callable[[], Awaitable[Any]], *, repeats: int = 5, warmup: int = 2
) -> StatementCount:
    """The statements of ``repeats`` calls of ``send`` after ``warmup`` unrecorded ones."""
    for _ in range(warmup):
        await send()
    with recording() as log, _tortoise_log() as logged:
        for _ in range(repeats):
            await send()
    return StatementCount(repeats, list(log), len(logged))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(("Created connection pool", "Closed connection pool")):
            self.messages.append(message)


@contextmanager
def _tortoise_log() -> Iterator[list[str]]:
    logger = logging.getLogger("tortoise.db_client")
    handler, level = _Collect(), logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
