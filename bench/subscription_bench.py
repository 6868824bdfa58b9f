"""Live subscriptions under load: N websocket subscribers over 2 server processes, a steady writer.

    .venv/bin/python -m bench.subscription_bench [--subscribers 1000] [--documents 10] [--rate 10]
        [--selection light|nested] [--compiled on|off]

Starts two `crm serve --no-demo` processes on a fresh database (on --server-url, default the
system PostgreSQL), connects the subscribers (graphql-transport-ws, split evenly over both
servers, driven by --client-procs client processes), waits until every subscription is live,
then inserts interactions at --rate per second, each in its own committed transaction, and
prints delivery latency from commit to receipt (p50, p99, max), events lost, server memory
per subscriber and server CPU per delivery and per event (each event renders once per group,
i.e. per document; --compiled off renders groups on the generic executor). Figures on a shared
2-core machine are rough; see bench/SUBSCRIPTIONS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import psutil
from websockets.asyncio.client import connect

from auth import identity as auth
from core import database
from core.config import Settings

REPO = Path(__file__).resolve().parent.parent
CRM = str(Path(sys.executable).with_name("crm"))
SECRET = "bench-subscriptions-secret-" + "x" * 32
READY_TIMEOUT = 120
DROPPED = -1  # key under which a subscriber notes that the server ended its subscription
# what each subscriber selects (the bench's own subscribers read id; the rest is rendered)
SELECTIONS = {
    "light": "id occurredAt",
    "nested": "id channel direction subject occurredAt customer { name email stage owner { name }"
              " orderCount lastInteractionAt } createdBy { name }",
}
INSERT = (
    "INSERT INTO interaction (organization_id, customer_id, channel, direction, subject, body,"
    " occurred_at, metadata, created_at) VALUES ($1, $2, 'NOTE', 'INBOUND', 'bench', '',"
    " now(), '{}'::jsonb, now()) RETURNING id"
)


def document(n: int, selection: str) -> str:
    """Subscription document number ``n`` (documents differ in their operation name only)."""
    return f"subscription Doc{n} {{ interactionCreated {{ {selection} }} }}"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pk_of(global_id: str) -> int:
    """The primary key inside an Interaction global ID."""
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return int(raw.partition(":")[2])


# --- client processes -------------------------------------------------------------------


async def _subscriber(url: str, token: str, query: str, live: asyncio.Event,
                      got: dict[int, list[float]], stop: asyncio.Event, drain: float) -> None:
    async with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=60,
                       max_queue=None) as ws:
        await ws.send(orjson.dumps(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}).decode())
        assert orjson.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(orjson.dumps(
            {"id": "1", "type": "subscribe", "payload": {"query": query}}).decode())
        last = time.monotonic()
        while not (stop.is_set() and time.monotonic() - last > drain):
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            now, last = time.time(), time.monotonic()
            message = orjson.loads(raw)
            if message.get("type") != "next" or "errors" in message["payload"]:
                got.setdefault(DROPPED, []).append(now)
                return
            got.setdefault(pk_of(message["payload"]["data"]["interactionCreated"]["id"]),
                           []).append(now)
            live.set()


def client_process(urls: list[str], token: str, first: int, count: int, documents: int,
                   selection: str, ready: Any, stop: Any, drain: float, out: Any) -> None:
    """Run subscribers ``first`` to ``first + count - 1``, subscriber n on document n modulo
    ``documents``; report readiness, then every receipt time per interaction."""
    async def main() -> None:
        stopping = asyncio.Event()
        lives = [asyncio.Event() for _ in range(count)]
        got: list[dict[int, list[float]]] = [{} for _ in range(count)]
        tasks = [asyncio.create_task(_subscriber(
            urls[(first + i) % len(urls)], token,
            document((first + i) % documents, selection),
            lives[i], got[i], stopping, drain)) for i in range(count)]
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await _first_of(asyncio.gather(*(live.wait() for live in lives)), tasks)
            ready.set()
            await _first_of(asyncio.to_thread(stop.wait), tasks)
        finally:
            stopping.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            out.send(got)

    import uvloop

    uvloop.run(main())


async def _first_of(awaitable: Any, tasks: list[asyncio.Task[None]]) -> None:
    """Await ``awaitable``, but raise at once if one of ``tasks`` fails."""
    waiter = asyncio.ensure_future(awaitable)
    await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        if task.done() and task.exception():
            waiter.cancel()
            raise RuntimeError("a subscriber failed") from task.exception()
    await waiter


# --- servers and data -------------------------------------------------------------------


def start_servers(url: str, count: int, log_dir: Path, compiled: bool = True
                  ) -> list[tuple[subprocess.Popen[bytes], int]]:
    """`crm serve --no-demo` processes on ``url``, ready."""
    # every client connects from 127.0.0.1 and its handshake is charged to that address
    env = os.environ | {"DATABASE_URL": url, "CRM_SECRET_KEY": SECRET, "CRM_LOG_LEVEL": "WARNING",
                        "CRM_ANONYMOUS_RATE_LIMIT_POINTS": "1000000000",
                        "CRM_COMPILED_QUERIES": str(compiled).lower()}
    servers = []
    for n in range(count):
        port = free_port()
        with (log_dir / f"server{n}.log").open("wb") as log:
            process = subprocess.Popen([CRM, "serve", "--no-demo", "--port", str(port)], env=env,
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True, cwd=REPO)
        servers.append((process, port))
    deadline = time.monotonic() + 120
    for process, port in servers:
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server on {port} did not start; logs in {log_dir}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    return servers


def stop_servers(servers: list[tuple[subprocess.Popen[bytes], int]]) -> None:
    """SIGTERM, then kill what is left."""
    for process, _ in servers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, _ in servers:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def cpu_seconds(servers: list[tuple[subprocess.Popen[bytes], int]]) -> float:
    """User and system CPU time the server processes (and any workers) have used so far."""
    total = 0.0
    for process, _ in servers:
        root = psutil.Process(process.pid)
        for p in (root, *root.children(recursive=True)):
            times = p.cpu_times()
            total += times.user + times.system
    return total


def rss(servers: list[tuple[subprocess.Popen[bytes], int]]) -> int:
    """Resident memory of the server processes (and any workers), in bytes."""
    total = 0
    for process, _ in servers:
        root = psutil.Process(process.pid)
        total += sum(p.memory_info().rss for p in (root, *root.children(recursive=True)))
    return total


async def prepare(url: str) -> tuple[int, int, str]:
    """An organization, a user and a customer; returns (org id, customer id, token)."""
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        org = await conn.fetchval(
            "INSERT INTO organization (name, slug, currency, created_at)"
            " VALUES ('Bench', $1, 'USD', now()) RETURNING id", f"bench-{uuid.uuid4().hex[:8]}")
        user = await conn.fetchval(
            "INSERT INTO app_user (organization_id, email, name, password_hash, role, is_active,"
            " created_at) VALUES ($1, $2, 'Bench', 'x', 'VIEWER', true, now()) RETURNING id",
            org, f"viewer-{uuid.uuid4().hex[:8]}@example.com")
        customer = await conn.fetchval(
            "INSERT INTO customer (organization_id, kind, name, stage, tags, custom_fields,"
            " email_opt_out, created_at, updated_at) VALUES ($1, 'PERSON', 'Bench customer',"
            " 'LEAD', '{}', '{}'::jsonb, false, now(), now()) RETURNING id", org)
    finally:
        await conn.close()
    settings = Settings(secret_key=SECRET, access_token_ttl_seconds=86_400)
    return org, customer, auth.issue_token({"id": user, "organization_id": org}, settings)


async def write(url: str, org: int, customer: int, rate: float, seconds: float,
                until: Any = None) -> dict[int, float]:
    """Insert interactions at ``rate`` per second; the commit time of each, by id."""
    conn = await asyncpg.connect(**database.connection_params(url))
    committed: dict[int, float] = {}
    try:
        start = time.monotonic()
        n = 0
        while (until is None and time.monotonic() - start < seconds) or (
                until is not None and not until()):
            pk = await conn.fetchval(INSERT, org, customer)
            committed[pk] = time.time()
            n += 1
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
    finally:
        await conn.close()
    return committed


# --- the run ----------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    """Set up, measure and print."""
    name = f"crm_subbench_{uuid.uuid4().hex[:8]}"
    admin_url = args.server_url
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    log_dir = Path(tempfile.mkdtemp(prefix="crm-subbench-"))
    servers: list[tuple[subprocess.Popen[bytes], int]] = []
    try:
        subprocess.run([CRM, "migrate"], env=os.environ | {"DATABASE_URL": url}, check=True,
                       capture_output=True)
        org, customer, token = asyncio.run(prepare(url))
        servers = start_servers(url, args.servers, log_dir, args.compiled == "on")
        before = rss(servers)
        measure(args, url, servers, org, customer, token, before)
    finally:
        stop_servers(servers)
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def measure(args: argparse.Namespace, url: str, servers: list[tuple[subprocess.Popen[bytes], int]],
            org: int, customer: int, token: str, before: int) -> None:
    """Subscribe, warm up, write, collect and report."""
    urls = [f"ws://127.0.0.1:{port}/graphql" for _, port in servers]
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    procs, pipes, readies = [], [], []
    share = [args.subscribers // args.client_procs + (i < args.subscribers % args.client_procs)
             for i in range(args.client_procs)]
    for n, count in enumerate(share):
        ready, (receiver, sender) = ctx.Event(), ctx.Pipe(duplex=False)
        proc = ctx.Process(target=client_process,
                           args=(urls, token, sum(share[:n]), count, args.documents,
                                 SELECTIONS[args.selection], ready, stop, args.drain, sender))
        proc.start()
        procs.append(proc)
        pipes.append(receiver)
        readies.append(ready)
    t0 = time.monotonic()

    def live() -> bool:
        if any(not proc.is_alive() for proc in procs) or time.monotonic() - t0 > READY_TIMEOUT:
            raise RuntimeError("subscribers did not all go live; see the server logs")
        return all(r.is_set() for r in readies)

    try:
        asyncio.run(write(url, org, customer, 5, 0, until=live))
        print(f"{args.subscribers} subscribers live after {time.monotonic() - t0:.1f}s")
        after = rss(servers)
        cpu = cpu_seconds(servers)
        committed = asyncio.run(write(url, org, customer, args.rate, args.seconds))
        stop.set()
        results = [pipe.recv() for pipe in pipes]
        cpu = cpu_seconds(servers) - cpu
    finally:
        stop.set()
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
    report(args, committed, [got for batch in results for got in batch], before, after)
    deliveries = len(committed) * args.subscribers
    print(f"server CPU while writing and draining: {cpu:.1f} s ="
          f" {cpu / max(deliveries, 1) * 1e6:.0f} µs per delivery ="
          f" {cpu / max(len(committed), 1) * 1e3:.1f} ms per event"
          f" ({args.documents} groups, {args.subscribers} subscribers,"
          f" compiled plans {args.compiled}, {args.selection} selection)")


def report(args: argparse.Namespace, committed: dict[int, float],
           subscribers: list[dict[int, list[float]]], before: int, after: int) -> None:
    """Print latency, losses and memory."""
    latencies, lost, duplicates = [], 0, 0
    for got in subscribers:
        for pk, at in committed.items():
            times = got.get(pk)
            if not times:
                lost += 1
                continue
            duplicates += len(times) - 1
            latencies.append((times[0] - at) * 1000)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    print(f"events written: {len(committed)} at {args.rate}/s over {args.seconds}s;"
          f" deliveries expected: {len(committed) * len(subscribers)}")
    print(f"latency commit->receipt ms: p50 {statistics.median(latencies or [0]):.1f}"
          f"  p99 {p99:.1f}  max {max(latencies or [0]):.1f}")
    dropped = sum(DROPPED in got for got in subscribers)
    print(f"events lost: {lost}   duplicates: {duplicates}   subscribers dropped: {dropped}")
    print(f"server memory: {before / 2**20:.0f} MiB idle -> {after / 2**20:.0f} MiB with"
          f" subscribers = {(after - before) / len(subscribers) / 1024:.1f} KiB per subscriber")


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="PostgreSQL server; a throw-away database is created on it")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--documents", type=int, default=10,
                        help="distinct subscription documents, spread evenly over subscribers")
    parser.add_argument("--selection", choices=sorted(SELECTIONS), default="light",
                        help="what each subscription selects on the interaction")
    parser.add_argument("--compiled", choices=["on", "off"], default="on",
                        help="off: groups render on the generic executor (CRM_COMPILED_QUERIES)")
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--rate", type=float, default=10.0, help="interactions per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--drain", type=float, default=10.0,
                        help="after writing, stop once no event arrived for this long")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
