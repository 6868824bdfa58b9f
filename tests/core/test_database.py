"""Telling an unreachable database from a wrong statement, on real connections."""

from __future__ import annotations

import asyncpg
import pytest

from core import database
from core.database import DatabaseUnavailable, is_unavailable
from tests.e2e.test_subscription_processes import free_port


async def test_a_refused_connection_is_unavailable_and_named_so() -> None:
    with pytest.raises(DatabaseUnavailable) as refused:
        await database._pool_connect(host="127.0.0.1", port=free_port(), user="nobody",
                                     database="nothing", timeout=2)
    assert is_unavailable(refused.value)


async def test_a_terminated_connection_is_unavailable(db: str) -> None:
    params = database.connection_params(db)
    victim = await asyncpg.connect(**params)
    admin = await asyncpg.connect(**params)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", victim.get_server_pid())
        with pytest.raises(Exception) as lost:  # noqa: PT011 (asyncpg words it in several ways)
            await victim.fetch("SELECT 1")
        assert is_unavailable(lost.value)
    finally:
        await admin.close()
        victim.terminate()


async def test_wrong_statements_and_other_errors_are_not_unavailable(db: str) -> None:
    conn = await asyncpg.connect(**database.connection_params(db))
    try:
        with pytest.raises(asyncpg.PostgresError) as wrong:
            await conn.fetch("SELECT * FROM no_such_table")
        with pytest.raises(asyncpg.PostgresError) as slow:
            await conn.execute("SET statement_timeout = 1; SELECT pg_sleep(1)")
    finally:
        await conn.close()
    assert not is_unavailable(wrong.value)
    assert not is_unavailable(slow.value)  # a cancelled statement is the query's fault
    assert not is_unavailable(RuntimeError("boom"))
    wrapped = RuntimeError("while saving")
    wrapped.__cause__ = ConnectionResetError()
    assert is_unavailable(wrapped)
