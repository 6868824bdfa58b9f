"""Bulk upserts through GraphQL: rows/s for 100k customers (and orders) in 1,000-row calls.

Figures, not tests. One call at a time, into a database of its own that is dropped afterwards::

    PYTHONPATH=. .venv/bin/python bench/upsert_bench.py [--database-url URL] [--customers N]
    PYTHONPATH=. .venv/bin/python bench/upsert_bench.py --http   # `crm serve`, one worker

In-process (the default), the app runs behind httpx's ASGI transport with its lifespan as
``crm serve`` runs it (connecting, starting its background services and freezing its
long-lived objects out of garbage collection); ``--http`` runs ``crm serve --workers 1`` as a
subprocess and posts over TCP. Passes: create every customer; update half of them (the other
half unchanged); repeat the update (all unchanged); create one order per customer
(``--passes`` picks some). ``--webhook`` first subscribes a webhook to every event type, so
each change also logs its event and queues its delivery (no worker runs).

Besides rows/s and latency each pass prints CPU time per row: of the app (in-process: this
whole process, client included; over HTTP: the server process) and of PostgreSQL's backends
serving this database. CPU per row holds up better than rows/s when others share the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlparse

import asyncpg
import httpx
import psutil

from app.main import create_app
from bench import servers
from bench.console import say
from bench.dataset import CRM
from bench.scratch import scratch_database
from bench.throughput import wait_for_quiet
from core import database
from core.config import Settings
from db import webhook
from schema.webhook import WebhookEventType
from tests.factories import make_org, make_user, token_for

BATCH = 1_000
SECRET = "b" * 48
CUSTOMERS = """mutation($input: UpsertCustomersInput!) {
  upsertCustomers(input: $input) { created updated unchanged failed errors { message } } }"""
ORDERS = """mutation($input: UpsertOrdersInput!) {
  upsertOrders(input: $input) { created updated unchanged failed errors { message } } }"""
Rows = Callable[[int], dict[str, Any]]
CpuClock = Callable[[], float]
PASSES = ("create", "update", "repeat", "orders")


def customer_row(i: int, version: int = 0) -> dict[str, Any]:
    """Customer ``i`` as a partner's system would send it; ``version`` changes odd rows' names."""
    suffix = f" v{version}" if version and i % 2 else ""
    return {
        "externalRef": f"ERP-{i:07d}", "name": f"Kundin Müller {i}{suffix}",
        "email": f"kunde{i}@example.com", "phone": f"+4930{1000000 + i:07d}",
        "company": f"Firma {i % 997} GmbH", "stage": "CUSTOMER", "tags": ["erp", f"t{i % 7}"],
        "address": {"street": f"Hauptstraße {i % 300}", "city": "Berlin", "country": "DE"},
    }


def order_row(i: int) -> dict[str, Any]:
    return {"externalRef": f"SO-{i:07d}", "customerExternalRef": f"ERP-{i:07d}",
            "amount": f"{10 + i % 500}.50", "currency": "EUR", "status": "PAID",
            "placedAt": "2026-06-01T12:00:00Z",
            "lineItems": [{"name": "Artikel", "quantity": 1, "unitPrice": f"{10 + i % 500}.50"}]}


class PostgresClock:
    """CPU seconds used by PostgreSQL's backends connected to one database (the app's pool)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pids: list[int] = []

    async def refresh(self) -> None:
        conn = await asyncpg.connect(**database.connection_params(self.url))
        try:
            self.pids = [r["pid"] for r in await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()")]
        finally:
            await conn.close()

    def __call__(self) -> float:
        total = 0.0
        for pid in self.pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total


async def run_pass(http: httpx.AsyncClient, label: str, query: str, field: str, total: int,
                   rows: Rows, app_cpu: CpuClock, pg_cpu: PostgresClock,
                   quiet: bool = False) -> None:
    """Send ``total`` rows in calls of ``BATCH`` and print throughput, latency and CPU per row."""
    durations: list[float] = []
    counts: dict[str, int] = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    busy = wait_for_quiet() if quiet else None
    await pg_cpu.refresh()
    app_before, pg_before = app_cpu(), pg_cpu()
    for start in range(0, total, BATCH):
        body = {"query": query, "variables": {"input": {
            "rows": [rows(i) for i in range(start, min(start + BATCH, total))]}}}
        began = time.perf_counter()
        response = await http.post("/graphql", json=body)
        durations.append(time.perf_counter() - began)
        payload = response.json()["data"][field]
        if payload["errors"]:
            raise RuntimeError(payload["errors"])
        for key in counts:
            counts[key] += payload[key]
    app_us, pg_us = (1e6 * (app_cpu() - app_before) / total, 1e6 * (pg_cpu() - pg_before) / total)
    spent = sum(durations)
    q = statistics.quantiles(durations, n=100) if len(durations) > 1 else durations * 99
    machine = f"  (machine {busy:.0f}% busy before)" if busy is not None else ""
    print(f"{label:<28} {total / spent:7,.0f} rows/s  p50 {1000 * q[49]:4.0f} ms"
          f"  p99 {1000 * q[98]:4.0f} ms  CPU/row: app {app_us:4.0f} µs, PostgreSQL"
          f" {pg_us:4.0f} µs  {counts}{machine}")


@asynccontextmanager
async def in_process(settings: Settings, db_url: str,
                     headers: dict[str, str]) -> AsyncIterator[tuple[httpx.AsyncClient, CpuClock]]:
    """The app behind httpx's ASGI transport, its lifespan running; CPU: this whole process."""
    app = create_app(settings, db_url)
    # the app's lifespan connects and, as in production, freezes the long-lived objects
    # out of garbage collection (without it every full collection rescans them)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://b", headers=headers,
        timeout=120,
    ) as http:
        yield http, time.process_time


@asynccontextmanager
async def over_http(db_url: str,
                    headers: dict[str, str]) -> AsyncIterator[tuple[httpx.AsyncClient, CpuClock]]:
    """`crm serve --workers 1` as a subprocess, posted to over TCP; CPU: the server process."""
    env = dict(os.environ) | {
        "DATABASE_URL": db_url, "CRM_SECRET_KEY": SECRET, "CRM_RATE_LIMIT_POINTS": "1000000000",
        "CRM_ML_RESCORE_INTERVAL_SECONDS": "0",
        # the server runs the code of this checkout even if the venv was installed from another
        "PYTHONPATH": str(servers.REPO),
    }
    port = servers.free_port()
    argv = [CRM, "serve", "--no-demo",
            "--port", str(port), "--workers", "1"]
    with servers.Server("upsert-bench", argv, env, port) as server:
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers,
                                     timeout=120) as http:
            yield http, server.cpu_seconds


async def main(url: str, customers: int, subscribed: bool, http_mode: bool,
               passes: list[str], quiet: bool) -> None:
    settings = Settings(env="test", secret_key=SECRET, database_url=None,
                        rate_limit_points=10**9)
    async with scratch_database(url, "crm_upsertbench") as db_url:
        await database.migrate(db_url, settings)
        await database.connect(db_url, settings)
        org = await make_org()
        headers = {"Authorization": f"Bearer {token_for(await make_user(org), settings)}"}
        if subscribed:
            await webhook.create(
                org_id=org.id, user_id=None, url="https://partner.example/hook",
                event_types=[t.value for t in WebhookEventType], secret="whsec_" + "x" * 32,
                description="benchmark",
            )
        await database.disconnect()
        serving = over_http(db_url, headers) if http_mode else in_process(settings, db_url,
                                                                          headers)
        pg_cpu = PostgresClock(db_url)
        async with serving as (http, app_cpu):
            say(f"{customers:,} customers in calls of {BATCH:,} rows"
                f" {'over HTTP (crm serve, one worker)' if http_mode else 'in-process'}"
                f" into {urlparse(db_url).path[1:]}"
                f"{', webhook on every event' if subscribed else ''}")
            runs: dict[str, tuple[str, str, str, Rows]] = {
                "create": ("create", CUSTOMERS, "upsertCustomers", customer_row),
                "update": ("update half, half unchanged", CUSTOMERS, "upsertCustomers",
                           lambda i: customer_row(i, 1)),
                "repeat": ("repeat (all unchanged)", CUSTOMERS, "upsertCustomers",
                           lambda i: customer_row(i, 1)),
                "orders": ("orders: create one each", ORDERS, "upsertOrders", order_row),
            }
            for name in PASSES:
                if name in passes:
                    label, query, field, rows = runs[name]
                    await run_pass(http, label, query, field, customers, rows, app_cpu, pg_cpu,
                                   quiet)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--webhook", action="store_true", help="subscribe a webhook first")
    parser.add_argument("--http", action="store_true",
                        help="serve with `crm serve --workers 1` and post over TCP")
    parser.add_argument("--passes", default=",".join(PASSES),
                        help=f"comma-separated, of {', '.join(PASSES)} (later ones need create)")
    parser.add_argument("--quiet", action="store_true",
                        help="before each pass, wait up to 2 minutes for the machine to idle")
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.customers, args.webhook, args.http,
                     args.passes.split(","), args.quiet))
