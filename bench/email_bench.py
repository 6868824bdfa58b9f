"""Email outbox benchmark: a 10,000-email campaign drained by 1 and by 4 `crm worker` processes.

    .venv/bin/python -m bench.email_bench [--emails 10000] [--workers 1 4]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

A fresh database is created on the server (the embedded PostgreSQL without --database-url),
migrated and filled with customers. For each worker count a new campaign is started; the
worker processes queue it in batches and send it to an aiosmtpd sink in this process. Printed:
emails/s (campaign start to last arrival), end-to-end latency (queued to arrived) p50/p99,
and lost/duplicate counts, which must be 0. See bench/EMAIL.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench.scratch import scratch_database
from core import database
from core.config import Settings
from tests.smtp import smtp_sink

LOG_DIR = Path(__file__).resolve().parent / ".logs"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


async def _prepare(url: str, settings: Settings, emails: int) -> tuple[int, int]:
    """Migrate, then an organization with ``emails`` customers and a template: (org, template)."""
    await database.migrate(url, settings)
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        org_id = await conn.fetchval(
            "INSERT INTO organization (name, slug, currency, created_at)"
            " VALUES ('Email bench', 'email-bench', 'EUR', now()) RETURNING id")
        await conn.execute(
            "INSERT INTO customer (organization_id, kind, name, email, stage, tags,"
            " custom_fields, email_opt_out, created_at, updated_at)"
            " SELECT $1, 'PERSON', 'Customer ' || i, 'customer' || i || '@example.com', 'CUSTOMER',"
            " '{}', '{}', false, now(), now() FROM generate_series(1, $2) AS i", org_id, emails)
        template_id = await conn.fetchval(
            "INSERT INTO email_template (organization_id, name, subject, text, html, created_at,"
            " updated_at) VALUES ($1, 'Bench', 'Hello {{ customer.first_name }}',"
            " 'Dear {{ customer.name }},\nour news.\n{{ unsubscribe_url }}',"
            " '<p>Dear {{ customer.name }},</p><p>our news.</p>', now(), now()) RETURNING id",
            org_id)
    finally:
        await conn.close()
    return org_id, template_id


async def _run(url: str, settings: Settings, org_id: int, template_id: int, workers: int,
               port: int, sink: Any) -> dict[str, Any]:
    from db import customer as customers
    from services.email.campaigns import CampaignRequest, create_campaign

    sink.received.clear()
    arrivals: dict[str, list[float]] = {}
    original = sink.handle_DATA

    async def handle_data(server: Any, session: Any, envelope: Any) -> str:
        reply: str = await original(server, session, envelope)
        arrivals.setdefault(sink.received[-1].message_id, []).append(time.time())
        return reply

    sink.handle_DATA = handle_data
    env = {**os.environ, "DATABASE_URL": url, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
           "SMTP_TLS": "none", "SMTP_FROM": "Bench <bench@example.com>",
           "CRM_EMAIL_RATE_PER_SECOND": "1000000", "CRM_EMAIL_RATE_BURST": "1000000",
           "CRM_EMAIL_BATCH_SIZE": "50", "CRM_EMAIL_POLL_SECONDS": "0.2",
           "CRM_LOG_LEVEL": "WARNING"}
    LOG_DIR.mkdir(exist_ok=True)
    procs = []
    for i in range(workers):
        with (LOG_DIR / f"email-worker-{workers}-{i}.log").open("wb") as log:
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app.cli", "worker", "--org", "email-bench", env=env,
                stdout=log, stderr=log))
    await database.connect(url, settings)
    try:
        started = time.time()
        campaign = await create_campaign(settings, org_id=org_id, user_id=None, request=(
            CampaignRequest(template_id=template_id, customer_filter=customers.CustomerFilter())))
        total = campaign["total"]
        await sink.wait_until(lambda: len(sink.received) >= total, seconds=1800)
        async with asyncio.timeout(60):
            # statuses land just after the last reply; poll the database for them
            while await _pending(campaign["id"]):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        finished = max((t for ts in arrivals.values() for t in ts), default=time.time())
        rows = await _messages(campaign["id"])
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            await proc.wait()
        await database.disconnect()
    latencies = [arrivals[r["message_id"]][0] - r["created_at"].timestamp()
                 for r in rows if r["message_id"] in arrivals]
    return {
        "workers": workers, "emails": total, "seconds": finished - started,
        "per_second": total / (finished - started),
        "p50": _percentile(latencies, 0.5), "p99": _percentile(latencies, 0.99),
        "lost": sum(1 for r in rows if r["message_id"] not in arrivals) + total - len(rows),
        "duplicates": sum(len(ts) - 1 for ts in arrivals.values()),
        "not_sent": sum(1 for r in rows if r["status"] != "SENT"),
    }


async def _pending(campaign_id: int) -> bool:
    from db.sql import fetch_one

    row = await fetch_one(
        "SELECT (SELECT status FROM email_campaign WHERE id = $1) = 'QUEUEING' OR EXISTS ("
        "SELECT 1 FROM email_message WHERE campaign_id = $1 AND status IN ('QUEUED', 'SENDING'))"
        " AS pending", [campaign_id])
    return bool(row and row["pending"])


async def _messages(campaign_id: int) -> list[dict[str, Any]]:
    from db.sql import fetch

    return await fetch("SELECT message_id, status, created_at FROM email_message"
                       " WHERE campaign_id = $1", [campaign_id])


async def main_async(args: argparse.Namespace) -> None:
    """Run the benchmark and print one line per worker count."""
    settings = Settings(env="test", secret_key="bench-" + "x" * 40,
                        smtp_from="Bench <bench@example.com>")
    server = args.database_url or database.start_embedded(Path(".crm-bench"), "postgres")
    async with scratch_database(server, "crm_email_bench") as url:
        org_id, template_id = await _prepare(url, settings, args.emails)
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs (shared: rough)")
        print("workers  emails  seconds  emails/s  latency p50  latency p99  lost  dup  not sent")
        async with smtp_sink() as sink:
            for workers in args.workers:
                r = await _run(url, settings, org_id, template_id, workers, sink.port, sink)
                print(f"{r['workers']:>7}  {r['emails']:>6}  {r['seconds']:>7.1f}"
                      f"  {r['per_second']:>8.0f}  {r['p50']:>10.2f}s  {r['p99']:>10.2f}s"
                      f"  {r['lost']:>4}  {r['duplicates']:>3}  {r['not_sent']:>8}")


def main() -> None:
    """Entry point: parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--database-url", default=os.environ.get("CRM_BENCH_DATABASE_URL"))
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
