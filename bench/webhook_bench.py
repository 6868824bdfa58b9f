"""Webhook delivery benchmark: deliveries/s and commit-to-receipt latency to a local receiver.

    .venv/bin/python -m bench.webhook_bench [--events 10000] [--workers 1 4]
        [--concurrency 8 32] [--live-events 2000] [--live-rate 200]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

A fresh database is created on the server (DATABASE_URL or the embedded PostgreSQL without
--database-url), migrated, and an organization with one webhook pointing at a loopback
receiver in this process (tests/webhook_receiver.py, which also verifies every signature).

1. Trigger cost: N customers inserted 100 per statement, with and without a webhook.
2. Backlog drain: the N ``customer.created`` events are committed with no worker running; then
   W ``crm worker`` processes with concurrency C start. deliveries/s = N / (first to last
   receipt); lost and duplicate ids (must be 0); unverified signatures (must be 0).
3. Live latency: workers running, customers inserted one per transaction at a steady rate;
   latency = receipt time - commit time (client side), p50/p99.
See bench/WEBHOOKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench.scratch import scratch_database
from core import database
from core.config import Settings
from tests.webhook_receiver import SECRET, Receiver

LOG_DIR = Path(__file__).resolve().parent / ".logs"
BATCH = 100


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


async def _org(conn: asyncpg.Connection, slug: str) -> int:
    org_id: int = await conn.fetchval(
        "INSERT INTO organization (name, slug, currency, created_at) VALUES ($1, $1, 'EUR', now())"
        " RETURNING id", slug)
    return org_id


async def _insert(conn: asyncpg.Connection, org_id: int, count: int, per_statement: int) -> float:
    """Insert ``count`` customers, ``per_statement`` per statement (own transaction); seconds."""
    started = time.perf_counter()
    for start in range(0, count, per_statement):
        await conn.execute(
            "INSERT INTO customer (organization_id, kind, name, email, stage, tags, custom_fields,"
            " email_opt_out, created_at, updated_at)"
            " SELECT $1, 'PERSON', 'Customer ' || i, 'c' || i || '@example.com', 'LEAD', '{}',"
            " '{}', false, now(), now() FROM generate_series($2::int, $3::int) AS i",
            org_id, start, min(count, start + per_statement) - 1)
    return time.perf_counter() - started


async def _webhook(conn: asyncpg.Connection, org_id: int, url: str) -> int:
    hook: int = await conn.fetchval(
        "INSERT INTO webhook (organization_id, url, description, event_types, secret, enabled,"
        " consecutive_failures, circuit_trips, created_at, updated_at) VALUES ($1, $2, 'bench',"
        " ARRAY['customer.created'], $3, true, 0, 0, now(), now()) RETURNING id",
        org_id, url, SECRET)
    return hook


async def _workers(url: str, count: int, concurrency: int) -> list[asyncio.subprocess.Process]:
    env = {**os.environ, "DATABASE_URL": url, "CRM_WEBHOOK_ALLOW_PRIVATE": "true",
           "CRM_WEBHOOK_CONCURRENCY": str(concurrency), "CRM_WEBHOOK_POLL_SECONDS": "0.5",
           "CRM_LOG_LEVEL": "WARNING", "CRM_ENV": "development"}
    LOG_DIR.mkdir(exist_ok=True)
    procs = []
    for i in range(count):
        with (LOG_DIR / f"webhook-worker-{count}-{concurrency}-{i}.log").open("wb") as log:
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app.cli", "worker", env=env, stdout=log, stderr=log))
    return procs


async def _stop(procs: list[asyncio.subprocess.Process]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        await proc.wait()


def _ids(receiver: Receiver) -> Counter[str]:
    return Counter(r.headers["crm-webhook-id"] for r in receiver.requests)


async def _drain(url: str, conn: asyncpg.Connection, events: int, workers: int,
                 concurrency: int) -> dict[str, Any]:
    """Commit ``events`` events with no worker running, then time W workers draining them."""
    async with Receiver(SECRET) as receiver:
        org_id = await _org(conn, f"drain-{workers}-{concurrency}-{uuid.uuid4().hex[:6]}")
        await _webhook(conn, org_id, receiver.url)
        await _insert(conn, org_id, events, BATCH)
        procs = await _workers(url, workers, concurrency)
        try:
            await receiver.wait_for(events, within=1800)
            await asyncio.sleep(1.0)  # late duplicates would show up here
        finally:
            await _stop(procs)
        times = [r.at for r in receiver.requests]
        ids = _ids(receiver)
        return {"seconds": max(times) - min(times), "received": len(receiver.requests),
                "lost": events - len(ids), "dup": sum(n - 1 for n in ids.values()),
                "unverified": sum(not r.verified for r in receiver.requests)}


async def _live(url: str, conn: asyncpg.Connection, events: int, rate: float, workers: int,
                concurrency: int) -> dict[str, Any]:
    """Workers running; one customer per transaction at ``rate``/s; commit-to-receipt latency."""
    async with Receiver(SECRET) as receiver:
        org_id = await _org(conn, f"live-{uuid.uuid4().hex[:6]}")
        await _webhook(conn, org_id, receiver.url)
        procs = await _workers(url, workers, concurrency)
        committed: dict[int, float] = {}
        try:
            await asyncio.sleep(3.0)  # the workers connect and start listening
            started = time.time()
            for i in range(events):
                await asyncio.sleep(max(0.0, started + i / rate - time.time()))
                customer_id = await conn.fetchval(
                    "INSERT INTO customer (organization_id, kind, name, stage, tags,"
                    " custom_fields, email_opt_out, created_at, updated_at) VALUES"
                    " ($1, 'PERSON', 'Live', 'LEAD', '{}', '{}', false, now(), now())"
                    " RETURNING id", org_id)
                committed[customer_id] = time.time()
            await receiver.wait_for(events, within=600)
        finally:
            await _stop(procs)
    from schema.node import parse_global_id

    latencies = []
    for request in receiver.requests:
        _, pk = parse_global_id(request.json()["object"]["id"])
        latencies.append(request.at - committed[pk])
    ids = _ids(receiver)
    return {"p50": _percentile(latencies, 0.5), "p99": _percentile(latencies, 0.99),
            "max": max(latencies), "lost": events - len(ids),
            "dup": sum(n - 1 for n in ids.values())}


async def main_async(args: argparse.Namespace) -> None:
    """Run the benchmark and print its figures."""
    settings = Settings(env="test", secret_key="bench-" + "x" * 40)
    server = args.database_url or os.environ.get("DATABASE_URL") or database.start_embedded(
        Path(".crm-bench"), "postgres")
    async with scratch_database(server, "crm_webhook_bench") as url:
        await database.migrate(url, settings)
        conn = await asyncpg.connect(**database.connection_params(url))
        try:
            await _report(args, url, conn)
        finally:
            await conn.close()


async def _report(args: argparse.Namespace, url: str, conn: asyncpg.Connection) -> None:
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs (shared: rough)")
    plain = await _insert(conn, await _org(conn, "no-webhook"), args.events, BATCH)
    hooked_org = await _org(conn, "with-webhook")
    await _webhook(conn, hooked_org, "https://93.184.216.34/never-delivered")
    hooked = await _insert(conn, hooked_org, args.events, BATCH)
    print(f"insert {args.events} customers ({BATCH}/statement): no webhook {plain:.2f}s,"
          f" with a webhook {hooked:.2f}s (events + deliveries logged: x{hooked / plain:.2f})")
    print("workers  concurrency  events  seconds  deliveries/s  lost  dup  unverified")
    for workers in args.workers:
        for concurrency in args.concurrency:
            r = await _drain(url, conn, args.events, workers, concurrency)
            print(f"{workers:>7}  {concurrency:>11}  {args.events:>6}  {r['seconds']:>7.2f}"
                  f"  {args.events / r['seconds']:>12.0f}  {r['lost']:>4}  {r['dup']:>3}"
                  f"  {r['unverified']:>10}")
    live = await _live(url, conn, args.live_events, args.live_rate, 1, max(args.concurrency))
    print(f"live: {args.live_events} events at {args.live_rate:.0f}/s, 1 worker: commit to"
          f" receipt p50 {live['p50'] * 1000:.1f} ms, p99 {live['p99'] * 1000:.1f} ms,"
          f" max {live['max'] * 1000:.1f} ms, lost {live['lost']}, dup {live['dup']}")


def main() -> None:
    """Entry point: parse arguments and run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--live-events", type=int, default=2000)
    parser.add_argument("--live-rate", type=float, default=200.0)
    parser.add_argument("--database-url", default=os.environ.get("CRM_BENCH_DATABASE_URL"))
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
