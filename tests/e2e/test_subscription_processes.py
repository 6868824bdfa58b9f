"""Subscriptions across real server processes: two `crm serve` on one database, real websockets."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from core import database
from db.enums import Role
from tests.factories import gid, make_customer, make_org, make_user, token_for
from tests.resolvers.test_subscription import CREATED, LEGACY_WS, LOG, TIMEOUT, GraphQLSocket

CRM = str(Path(sys.executable).with_name("crm"))
LISTENERS = (
    "SELECT pid FROM pg_stat_activity"
    " WHERE application_name = 'crm-listener' AND datname = current_database()"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    async def wait_ready(self) -> None:
        async with httpx.AsyncClient() as client, asyncio.timeout(90):
            while True:
                assert self.process.poll() is None, self.log.read_text()[-3000:]
                try:
                    if (await client.get(f"{self.http}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def logs() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="crm-e2e-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
async def servers(db: str, settings, logs: Path) -> AsyncIterator[list[Server]]:  # type: ignore[no-untyped-def]
    """Two `crm serve` processes on the test database."""
    env = os.environ | {
        "DATABASE_URL": db, "CRM_SECRET_KEY": settings.secret_key, "CRM_ENV": "test",
        "CRM_LOG_LEVEL": "WARNING",
        # the suite's budgets (tests/conftest.py), which every app of the suite shares
        "CRM_RATE_LIMIT_POINTS": "1000000000", "CRM_ANONYMOUS_RATE_LIMIT_POINTS": "1000000000",
    }
    started = []
    for name in ("a", "b"):
        port = free_port()
        log = logs / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
                [CRM, "serve", "--no-demo", "--port", str(port)], env=env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        started.append(Server(process, port, log))
    try:
        await asyncio.gather(*(server.wait_ready() for server in started))
        yield started
    finally:
        for server in started:
            server.stop()


@dataclass
class Writer:
    """Logs interactions through one server's HTTP API."""

    http: httpx.AsyncClient
    token: str
    customer_id: str

    async def __call__(self) -> str:
        response = await self.http.post("/graphql", json={"query": LOG, "variables": {"input": {
            "customerId": self.customer_id, "channel": "NOTE", "direction": "INBOUND"}}},
            headers={"Authorization": f"Bearer {self.token}"})
        payload = response.json()["data"]["logInteraction"]
        assert payload["errors"] == [], payload
        return str(payload["interaction"]["id"])


@pytest.fixture
async def tenant(servers, settings):  # type: ignore[no-untyped-def]
    """A fresh organization: an agent's writer through server b and a viewer's token."""
    org = await make_org()
    agent = await make_user(org, role=Role.AGENT)
    customer = await make_customer(org)
    async with httpx.AsyncClient(base_url=servers[1].http, timeout=TIMEOUT) as http:
        yield SimpleTenant(
            org_id=org.id, viewer=token_for(await make_user(org, role=Role.VIEWER), settings),
            write=Writer(http, token_for(agent, settings), gid(customer)),
        )


@dataclass
class SimpleTenant:
    org_id: int
    viewer: str
    write: Callable[[], Awaitable[str]]


async def ready(
    sock: GraphQLSocket, op: str, write: Callable[[], Awaitable[str]], probes: set[str]
) -> None:
    """Write probes until one arrives (the subscription is live), collecting their ids."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            probes.add(await write())
            try:
                message = await asyncio.wait_for(sock._queue(op).get(), 0.5)
            except TimeoutError:
                continue
            assert message["payload"]["data"]["interactionCreated"]["id"] in probes
            return


async def received(sock: GraphQLSocket, op: str, skip: set[str], count: int) -> list[str]:
    """The next ``count`` interaction ids of ``op``, ignoring late probes."""
    ids: list[str] = []
    while len(ids) < count:
        interaction_id = await sock.next_id(op)
        if interaction_id not in skip:
            ids.append(interaction_id)
    return ids


async def test_events_cross_processes_and_organizations(servers, tenant, settings) -> None:
    a, b = servers
    other = await make_org()
    other_write = Writer(
        tenant.write.http, token_for(await make_user(other, role=Role.AGENT), settings),
        gid(await make_customer(other)),
    )
    other_viewer = token_for(await make_user(other, role=Role.VIEWER), settings)
    async with (
        GraphQLSocket.open(a.ws, tenant.viewer) as on_a,
        GraphQLSocket.open(b.ws, tenant.viewer, protocol=LEGACY_WS) as on_b,
        GraphQLSocket.open(a.ws, other_viewer) as stranger,
    ):
        op_a, op_b = await on_a.subscribe(CREATED), await on_b.subscribe(CREATED)
        op_s = await stranger.subscribe(CREATED)
        probes: set[str] = set()
        their_probes: set[str] = set()
        await ready(on_a, op_a, tenant.write, probes)
        await ready(on_b, op_b, tenant.write, probes)
        await ready(stranger, op_s, other_write, their_probes)
        written = [await tenant.write() for _ in range(5)]
        assert await received(on_a, op_a, probes, 5) == written
        assert await received(on_b, op_b, probes, 5) == written
        marker = await other_write()
        assert await received(stranger, op_s, their_probes, 1) == [marker]


async def test_listener_reconnect_across_processes_loses_nothing(db: str, servers, tenant) -> None:
    a, _ = servers
    admin = await asyncpg.connect(**database.connection_params(db))
    try:
        async with GraphQLSocket.open(a.ws, tenant.viewer) as sock:
            op = await sock.subscribe(CREATED)
            probes: set[str] = set()
            await ready(sock, op, tenant.write, probes)
            old = {row["pid"] for row in await admin.fetch(LISTENERS)}
            assert len(old) == 2
            written = [await tenant.write() for _ in range(3)]
            for pid in old:
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
            written += [await tenant.write() for _ in range(10)]
            got = await received(sock, op, probes, 13)
            # every event, once; across a reconnect the caught-up ones may interleave with
            # events committed meanwhile (no order is promised there)
            assert sorted(got) == sorted(written)
            marker = await tenant.write()
            assert await received(sock, op, probes, 1) == [marker]  # nothing twice
        async with asyncio.timeout(TIMEOUT):
            while True:
                now = {row["pid"] for row in await admin.fetch(LISTENERS)}
                if len(now) == 2 and not now & old:
                    break
                await asyncio.sleep(0.05)
    finally:
        await admin.close()


async def test_many_clients_coming_and_going_leave_one_listener_per_process(
    db: str, servers, tenant
) -> None:
    a, b = servers
    for server in (a, b) * 5:
        async with GraphQLSocket.open(server.ws, tenant.viewer) as sock:
            await sock.subscribe(CREATED)
    admin = await asyncpg.connect(**database.connection_params(db))
    try:
        assert len(await admin.fetch(LISTENERS)) == 2
    finally:
        await admin.close()


async def test_unauthenticated_socket_is_closed_4401(servers) -> None:
    async with connect(servers[0].ws, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(orjson.dumps({"type": "connection_init", "payload": {}}).decode())
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
