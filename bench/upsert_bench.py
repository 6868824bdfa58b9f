"""Bulk upserts through GraphQL: rows/s for 100k customers (and orders) in 1,000-row calls.

Figures, not tests. In-process (httpx ASGI transport, no network), one call at a time, into a
database of its own that is dropped afterwards::

    PYTHONPATH=. .venv/bin/python bench/upsert_bench.py [--database-url URL] [--customers N]

The app runs its lifespan as ``crm serve`` does (connecting, starting its background
services and freezing its long-lived objects out of garbage collection). Passes: create every
customer; update half of them (the other half unchanged); repeat the update (all unchanged);
create one order per customer. ``--webhook`` first subscribes a webhook to
every event type, so each change also logs its event and queues its delivery (no worker runs).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx

from app.main import create_app
from bench.console import say
from bench.scratch import scratch_database
from core import database
from core.config import Settings
from db import webhook
from schema.webhook import WebhookEventType
from tests.factories import make_org, make_user, token_for

BATCH = 1_000
CUSTOMERS = """mutation($input: UpsertCustomersInput!) {
  upsertCustomers(input: $input) { created updated unchanged failed errors { message } } }"""
ORDERS = """mutation($input: UpsertOrdersInput!) {
  upsertOrders(input: $input) { created updated unchanged failed errors { message } } }"""
Rows = Callable[[int], dict[str, Any]]


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


async def run_pass(http: httpx.AsyncClient, label: str, query: str, field: str, total: int,
                   rows: Rows) -> None:
    """Send ``total`` rows in calls of ``BATCH`` and print throughput and per-call latency."""
    durations: list[float] = []
    counts: dict[str, int] = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
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
    spent = sum(durations)
    q = statistics.quantiles(durations, n=100) if len(durations) > 1 else durations * 99
    print(f"{label:<34} {total / spent:8,.0f} rows/s  per call p50 {1000 * q[49]:6.0f} ms"
        f"  p99 {1000 * q[98]:6.0f} ms  {counts}")


async def main(url: str, customers: int, subscribed: bool) -> None:
    settings = Settings(env="test", secret_key="b" * 48, database_url=None,
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
        app = create_app(settings, db_url)
        # the app's lifespan connects and, as in production, freezes the long-lived objects
        # out of garbage collection (without it every full collection rescans them)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://b", headers=headers,
            timeout=120,
        ) as http:
            say(f"{customers:,} customers in calls of {BATCH:,} rows"
                f"{', webhook on every event' if subscribed else ''}")
            await run_pass(http, "create", CUSTOMERS, "upsertCustomers", customers, customer_row)
            await run_pass(http, "update half, half unchanged", CUSTOMERS, "upsertCustomers",
                           customers, lambda i: customer_row(i, 1))
            await run_pass(http, "repeat (all unchanged)", CUSTOMERS, "upsertCustomers",
                           customers, lambda i: customer_row(i, 1))
            await run_pass(http, "orders: create one each", ORDERS, "upsertOrders", customers,
                           order_row)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--webhook", action="store_true", help="subscribe a webhook first")
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.customers, args.webhook))
