"""Custom prediction benchmark: training and scoring time and peak memory of the prediction
builder (``ml/score_job.py``) on a generated organization.

    .venv/bin/python -m bench.score_bench [--customers 100000] [--definitions 2]

The history is generated inside PostgreSQL (``generate_series``), so this process holds only
what training and scoring hold: its peak RSS is the builder's. Customers tagged "trial" who buy
rarely get orders refunded often (a rule to find); cancellations are noise. Without
--database-url it creates (and drops) a database on the local server at 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from core import database
from core.config import Settings
from db import prediction_definition as definitions
from db.sql import fetch
from ml import score_job

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
GENERATE = [
    # customers over the last 400 days; 40 % tagged trial, half of everyone buys rarely
    """INSERT INTO customer (organization_id, kind, name, stage, tags, custom_fields,
        email_opt_out, created_at, updated_at)
       SELECT $1, 'PERSON', 'Bench ' || g, 'CUSTOMER',
              CASE WHEN g % 5 < 2 THEN '{trial}'::text[] ELSE '{}'::text[] END, '{}', false,
              now() - interval '400 days' + (g % 30) * interval '1 day', now()
       FROM generate_series(1, $2) g""",
    """INSERT INTO customer_order (organization_id, customer_id, amount, currency, status,
        placed_at, line_items, created_at, updated_at)
       SELECT c.organization_id, c.id, 40, 'EUR', s.status,
              c.created_at + random() * (now() - c.created_at), '[]', now(), now()
       FROM customer c CROSS JOIN LATERAL (
         SELECT 'PAID' AS status FROM generate_series(1, CASE WHEN c.id % 2 = 0 THEN 3 ELSE 12
                                                      END)
         UNION ALL SELECT 'REFUNDED' FROM generate_series(1,
           CASE WHEN 'trial' = ANY(c.tags) AND c.id % 2 = 0 THEN 12
                WHEN random() < 0.5 THEN 1 ELSE 0 END)
         UNION ALL SELECT 'CANCELLED' FROM generate_series(1, (random() * 4 + c.id * 0)::int)) s
       WHERE c.organization_id = $1""",
]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _generate(url: str, customers: int) -> int:
    # its own connection: the server's statement timeout is meant for requests
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        org_id = int(await conn.fetchval(
            "INSERT INTO organization (name, slug, currency, created_at) VALUES ($1, $1, 'EUR',"
            " now()) RETURNING id", f"score-bench-{uuid.uuid4().hex[:8]}"))
        for sql in GENERATE:
            await conn.execute(sql, *([org_id, customers] if "$2" in sql else [org_id]))
        await conn.execute("ANALYZE customer; ANALYZE customer_order; ANALYZE customer_change")
    finally:
        await conn.close()
    return org_id


async def _define(org_id: int, count: int) -> None:
    outcomes: list[dict[str, Any]] = [
        {"kind": "ORDER_STATUS", "status": "REFUNDED"},
        {"kind": "ORDER_STATUS", "status": "CANCELLED"},
        {"kind": "TAG_ADDED", "tag": "vip"},
    ]
    for i in range(count):
        await definitions.create(org_id=org_id, user_id=None, data={
            "name": f"bench_{i}", "outcome": outcomes[i % len(outcomes)], "horizon_days": 90})


async def _run(org_id: int) -> dict[str, Any]:
    as_of = datetime.now(UTC)
    start = time.perf_counter()
    served, results = await score_job.train(org_id=org_id, run_id=None, as_of=as_of)
    trained = time.perf_counter()
    scored = await score_job.score_customers(served, org_id=org_id, as_of=as_of)
    end = time.perf_counter()
    return {"train_s": trained - start, "score_s": end - trained, "scored": scored,
            "results": results, "peak_mb": _peak_mb()}


async def _main(args: argparse.Namespace) -> None:
    settings = Settings(env="test", secret_key="bench-" + "x" * 40)
    url, admin, name = args.database_url, None, None
    if url is None:
        name = f"crm_score_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(**database.connection_params(SERVER))
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = SERVER.rsplit("/", 1)[0] + f"/{name}"
    try:
        await database.migrate(url, settings)
        await database.connect(url, settings)
        try:
            t0 = time.perf_counter()
            org_id = await _generate(url, args.customers)
            counts = await fetch("SELECT (SELECT count(*) FROM customer WHERE organization_id"
                                 " = $1) AS customers, (SELECT count(*) FROM customer_order"
                                 " WHERE organization_id = $1) AS orders", [org_id])
            print(f"generated {dict(counts[0])} in {time.perf_counter() - t0:.0f} s;"
                  f" RSS so far {_peak_mb():.0f} MB")
            await _define(org_id, args.definitions)
            result = await _run(org_id)
        finally:
            await database.disconnect()
        print(f"train {args.definitions} definitions: {result['train_s']:.1f} s;"
              f" score {result['scored']} customers x {args.definitions}:"
              f" {result['score_s']:.1f} s; peak RSS {result['peak_mb']:.0f} MB")
        for r in result["results"]:
            print(f"  {r['prediction']}: {r['status']} {r['message']}")
    finally:
        if admin is not None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--definitions", type=int, default=2)
    parser.add_argument("--database-url")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
