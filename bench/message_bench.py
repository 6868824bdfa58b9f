"""Channel outbox benchmark: 5,000 SMS drained by 1 and by 4 `crm worker` processes.

    .venv/bin/python -m bench.message_bench [--messages 5000] [--workers 1 4]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

A fresh database is created on the server (the embedded PostgreSQL without --database-url),
migrated, and given an organization whose SMS provider is the Twilio-compatible stand-in of the
tests (tests/twilio_standin.py, served by uvicorn in this process; receipts off). For each worker
count the messages are queued in one transaction (with their OUTBOUND interactions) while the
workers wait; printed: messages/s (commit to the last one SENT), and lost/duplicate counts at
the provider, which must be 0. The stand-in shares this process, so it is part of what is timed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench.scratch import scratch_database
from core import database
from core.config import Settings
from services.messaging import credentials
from tests.twilio_standin import StandIn, standin

LOG_DIR = Path(__file__).resolve().parent / ".logs"
SECRET = "bench-" + "x" * 40
SLUG = "message-bench"


async def _prepare(url: str, settings: Settings, count: int, provider: StandIn
                   ) -> tuple[int, int]:
    """Migrate; an organization with ``count`` customers and the stand-in as its provider."""
    await database.migrate(url, settings)
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        org_id = await conn.fetchval(
            "INSERT INTO organization (name, slug, currency, created_at)"
            " VALUES ('Message bench', $1, 'EUR', now()) RETURNING id", SLUG)
        await conn.execute(
            "INSERT INTO customer (organization_id, kind, name, phone, stage, tags,"
            " custom_fields, email_opt_out, created_at, updated_at)"
            " SELECT $1, 'PERSON', 'Customer ' || i, '+1415' || lpad(i::text, 7, '0'),"
            " 'CUSTOMER', '{}', '{}', false, now(), now() FROM generate_series(1, $2) AS i",
            org_id, count)
        provider_id = await conn.fetchval(
            "INSERT INTO message_provider (organization_id, name, kind, channels, base_url,"
            " account_id, sender, credentials, inbound_key, rate_per_second, rate_burst,"
            " time_zone, create_leads, created_at, updated_at) VALUES ($1, 'Stand-in', 'TWILIO',"
            " '{SMS}', $2, $3, '+15005550006', $4, 'bench', 1000000, 1000000, 'UTC', false,"
            " now(), now()) RETURNING id",
            org_id, provider.url, provider.account_sid,
            credentials.seal(settings, {"authToken": provider.auth_token}))
    finally:
        await conn.close()
    return org_id, provider_id


async def _queue(url: str, org_id: int, provider_id: int, run: int) -> float:
    """Queue one message per customer with its interaction; the moment it committed."""
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        async with conn.transaction():
            await conn.execute(
                "WITH i AS (INSERT INTO interaction (organization_id, customer_id, channel,"
                " direction, body, occurred_at, metadata, created_at)"
                " SELECT $1, c.id, 'SMS', 'OUTBOUND', 'Run ' || $3 || ' for ' || c.id, now(),"
                " '{}', now() FROM customer c WHERE c.organization_id = $1"
                " RETURNING id, customer_id, body)"
                " INSERT INTO channel_message (organization_id, interaction_id, customer_id,"
                " provider_id, channel, recipient, body, encoding, segments, status, attempts,"
                " available_at, created_at, updated_at) SELECT $1, i.id, i.customer_id, $2, 'SMS',"
                " c.phone, i.body, 'GSM7', 1, 'QUEUED', 0, now(), now(), now()"
                " FROM i JOIN customer c ON c.id = i.customer_id",
                org_id, provider_id, str(run))
            await conn.execute("SELECT pg_notify('crm_channel_outbox', '')")
        return time.time()
    finally:
        await conn.close()


async def _run(url: str, org_id: int, provider_id: int, workers: int, count: int,
               provider: StandIn) -> dict[str, Any]:
    provider.sent.clear()
    env = {**os.environ, "DATABASE_URL": url, "CRM_SECRET_KEY": SECRET,
           "CRM_CHANNEL_BATCH_SIZE": "50", "CRM_CHANNEL_POLL_SECONDS": "0.2",
           "CRM_EMAIL_POLL_SECONDS": "5", "CRM_LOG_LEVEL": "WARNING"}
    LOG_DIR.mkdir(exist_ok=True)
    procs = []
    for i in range(workers):
        with (LOG_DIR / f"message-worker-{workers}-{i}.log").open("wb") as log:
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app.cli", "worker", "--org", SLUG, "--no-webhooks",
                env=env, stdout=log, stderr=log))
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        await asyncio.sleep(3)  # the workers are up and listening
        started = await _queue(url, org_id, provider_id, workers)
        async with asyncio.timeout(1800):
            while await conn.fetchval(  # noqa: ASYNC110
                    "SELECT count(*) FROM channel_message WHERE organization_id = $1"
                    " AND status IN ('QUEUED', 'SENDING')", org_id):
                await asyncio.sleep(0.05)
        finished = time.time()
        statuses = dict(await conn.fetch(
            "SELECT status, count(*) FROM channel_message m JOIN interaction i"
            " ON i.id = m.interaction_id WHERE m.organization_id = $1 AND i.body LIKE $2"
            " GROUP BY status", org_id, f"Run {workers} for %"))
    finally:
        await conn.close()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            await proc.wait()
    bodies = Counter(sent.form["Body"] for sent in provider.sent)
    return {"workers": workers, "messages": count, "seconds": finished - started,
            "per_second": count / (finished - started), "lost": count - len(bodies),
            "duplicates": sum(n - 1 for n in bodies.values()),
            "not_sent": count - statuses.get("SENT", 0)}


async def main_async(args: argparse.Namespace) -> None:
    """Run the benchmark and print one line per worker count."""
    settings = Settings(env="test", secret_key=SECRET)
    server = args.database_url or database.start_embedded(Path(".crm-bench"), "postgres")
    async with scratch_database(server, "crm_message_bench") as url, standin() as provider:
        provider.receipts = False
        org_id, provider_id = await _prepare(url, settings, args.messages, provider)
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs (shared: rough)")
        print("workers  messages  seconds  messages/s  lost  dup  not sent")
        for workers in args.workers:
            r = await _run(url, org_id, provider_id, workers, args.messages, provider)
            print(f"{r['workers']:>7}  {r['messages']:>8}  {r['seconds']:>7.1f}"
                  f"  {r['per_second']:>10.0f}  {r['lost']:>4}  {r['duplicates']:>3}"
                  f"  {r['not_sent']:>8}")


def main() -> None:
    """Entry point: parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--database-url", default=os.environ.get("CRM_BENCH_DATABASE_URL"))
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
