"""SIGTERM to real processes: `crm serve` stops accepting, finishes the request in flight and
closes websockets with 1012; `crm worker` finishes the email in hand and gives back the rest."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from db.sql import fetch
from tests.e2e.test_subscription_processes import CRM, Server, free_port
from tests.e2e.test_worker_processes import start_worker, worker_env
from tests.email_helpers import email_settings, queue_email, running_worker, wait_status
from tests.factories import make_customer, make_user, token_for
from tests.resolvers.test_subscription import CREATED, GraphQLSocket
from tests.smtp import Sink, silent_server, smtp_sink

VIEWER = "query { viewer { user { email } } }"


@pytest.fixture
async def serve(db: str, settings, tmp_path) -> AsyncIterator[Server]:  # type: ignore[no-untyped-def]
    env = os.environ | {
        "DATABASE_URL": db, "CRM_SECRET_KEY": settings.secret_key, "CRM_ENV": "test",
        "CRM_LOG_LEVEL": "WARNING", "CRM_SHUTDOWN_TIMEOUT_SECONDS": "10",
    }
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
            [CRM, "serve", "--no-demo", "--port", str(port)], env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = Server(process, port, log)
    try:
        await server.wait_ready()
        yield server
    finally:
        server.stop()


async def test_sigterm_finishes_the_request_in_flight_and_closes_websockets_with_1012(
    serve: Server, org, settings
) -> None:
    user = await make_user(org)
    token = token_for(user, settings)
    body = orjson.dumps({"query": VIEWER})
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield body[:5]
        await release.wait()  # the request stays in flight until the server is shutting down
        yield body[5:]

    async with (
        httpx.AsyncClient(base_url=serve.http, timeout=30) as http,
        GraphQLSocket.open(serve.ws, token) as sock,
    ):
        await sock.subscribe(CREATED)
        in_flight = asyncio.create_task(http.post(
            "/graphql", content=slow_body(), headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json",
                "Content-Length": str(len(body))}))
        await asyncio.sleep(0.3)  # the request's head has reached the server
        serve.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await asyncio.wait_for(sock.ws.wait_closed(), 20)
        with pytest.raises(ConnectionClosed) as closed:
            await sock.ws.recv()
        # the listening socket is closed before websockets are: nothing new is accepted
        async with httpx.AsyncClient(base_url=serve.http) as fresh:
            with pytest.raises(httpx.ConnectError):
                await fresh.get("/healthz")
        assert serve.process.poll() is None  # still finishing the request in flight
        release.set()
        response = await in_flight
    exit_code = await asyncio.to_thread(serve.process.wait, 30)
    stopped_in = time.monotonic() - signalled
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1012  # service restart: clients reconnect elsewhere
    assert response.status_code == 200
    assert response.json()["data"] == {"viewer": {"user": {"email": user.email}}}, response.json()
    assert exit_code == 0
    assert "Traceback" not in serve.log.read_text()
    print(f"\ngraceful shutdown: serve exited {stopped_in:.2f}s after SIGTERM"
          " (the request in flight held it open until its body arrived)")


class StartedSink(Sink):
    """A sink that tells when a message's DATA has begun."""

    def __init__(self) -> None:
        super().__init__()
        self.data_begun = asyncio.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_begun.set()
        return await super().handle_DATA(server, session, envelope)


async def test_sigterm_lets_the_worker_finish_the_email_in_hand_and_give_back_the_rest(
    org, settings, db, tmp_path
) -> None:
    people = [await make_customer(org) for _ in range(3)]
    async with smtp_sink(sink=StartedSink()) as sink:
        assert isinstance(sink, StartedSink)
        sink.data_delay = 1.0
        queued = [await queue_email(email_settings(settings), person) for person in people]
        env = worker_env(db, sink.port) | {"CRM_EMAIL_WORKER_CONCURRENCY": "1",
                                          "CRM_EMAIL_BATCH_SIZE": "3"}
        worker = await start_worker(env, org.slug, tmp_path / "worker.log")
        await asyncio.wait_for(sink.data_begun.wait(), 60)
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 30) == 0
    rows = await fetch("SELECT message_id, status, attempts, locked_by FROM email_message"
                       " WHERE organization_id = $1 ORDER BY id", [org.id])
    assert sink.ids() == [queued[0]["message_id"]]
    assert [(r["status"], r["attempts"], r["locked_by"]) for r in rows] == [
        ("SENT", 1, None), ("QUEUED", 0, None), ("QUEUED", 0, None)]


async def test_a_worker_stuck_past_the_deadline_exits_and_its_lease_runs_out(
    org, settings, db, tmp_path
) -> None:
    email = await queue_email(email_settings(settings), await make_customer(org))
    async with silent_server() as (port, connected):
        env = worker_env(db, port) | {"CRM_SHUTDOWN_TIMEOUT_SECONDS": "0.5",
                                      "SMTP_TIMEOUT": "60"}
        worker = await start_worker(env, org.slug, tmp_path / "worker.log")
        await asyncio.wait_for(connected.wait(), 60)
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 30) == 1
    async with smtp_sink() as sink:
        config = email_settings(settings, sink.port)
        async with running_worker(config, [org.id]):
            row = await wait_status(email["id"], "SENT")
    assert sink.ids() == [email["message_id"]]
    assert row["attempts"] == 2
