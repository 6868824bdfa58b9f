"""The whole training run at scale: every kind trained and every customer scored, timed per
kind with CPU seconds and peak RSS, in a worker process like the server's.

    .venv/bin/python -m bench.ml_run_bench --customers 100000 [--reuse] [--keep]

It seeds (unless ``--reuse`` finds an organization of that size) a dedicated database on the
local server (``crm_ml_bench`` at 127.0.0.1:5432 by default): customers from ``tests/ml/simulate``
(Poisson buyers who stop, interactions fading before), one catalogue line per order (customers
lean to one of 20 departments of 100 products and to ten favourites), REFUNDED orders with a
planted rule (a "trial" tag and a "monthly" plan), CANCELLED ones at random, customer custom
fields (plan, seats, renewal date, newsletter) and two custom predictions; all by COPY into
staging tables, a block of customers at a time with progress. Then a spawned worker process
runs ``ml.jobs.run_training`` (what ``crm train`` and the scheduled retraining run) while this
process records, per stage the worker reports, wall seconds, CPU seconds of the worker and its
peak RSS (sampled every 20 ms).
Stages run one after another, so the table's rows add up to the run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import resource
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import numpy as np

from core import database
from core.config import Settings
from ml.features import CHANNELS, to_day
from ml.jobs import worker_context
from tests.ml.simulate import simulate

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "crm_ml_bench"
BLOCK = 50_000  # customers generated and copied at a time
DEPARTMENTS, PER_DEPARTMENT = 20, 100
STATUSES = ["PAID", "REFUNDED", "CANCELLED"]
PLANS = ("monthly", "annual", "trial-plan", "enterprise")
STAGING = """
CREATE TEMP TABLE s_customer (id bigint, created float8, trial bool, plan int, seats int,
                              renewal float8, newsletter bool);
CREATE TEMP TABLE s_order (customer_id bigint, day float8, amount float8, status int,
                           product int);
CREATE TEMP TABLE s_interaction (customer_id bigint, day float8, channel int, inbound bool);
"""


def _settings() -> Settings:
    return Settings(env="test", secret_key="bench-" + "x" * 40)


# --- seeding ------------------------------------------------------------------------------


def _block(first_id: int, size: int, seed: int, end_day: float) -> dict[str, list[Any]]:
    """One block of customers, their orders (with product and refund) and interactions."""
    rng = np.random.default_rng(seed + 7919)
    h = simulate(size, end_day=end_day, seed=seed, mean_gap_days=28.0).history
    ids = np.arange(first_id, first_id + size, dtype=np.int64)
    trial = rng.random(size) < 0.3
    plan = rng.choice(len(PLANS), size, p=(0.4, 0.3, 0.2, 0.1))
    seats = rng.poisson(np.where(plan == 3, 40, 4)) + 1
    renewal = end_day + rng.integers(-200, 365, size)
    newsletter = rng.random(size) < 0.5
    o = h.orders
    assert o.amount is not None
    dept = rng.integers(0, DEPARTMENTS, size)
    favourites = dept[:, None] * PER_DEPARTMENT + rng.integers(0, PER_DEPARTMENT, (size, 10))
    roll = rng.random(len(o.day))
    own = favourites[o.customer, rng.integers(0, 10, len(o.day))]
    in_dept = dept[o.customer] * PER_DEPARTMENT + rng.integers(0, PER_DEPARTMENT, len(o.day))
    anything = rng.integers(0, DEPARTMENTS * PER_DEPARTMENT, len(o.day))
    product = np.where(roll < 0.5, own, np.where(roll < 0.9, in_dept, anything))
    # the planted rule: trial customers on a monthly plan get a third of their orders refunded
    risky = trial[o.customer] & (plan[o.customer] == 0)
    roll = rng.random(len(o.day))
    status = np.where(roll < np.where(risky, 0.33, 0.03), 1, 0)
    status[rng.random(len(o.day)) < 0.04] = 2  # cancellations: noise
    i = h.interactions
    assert i.kind is not None and i.inbound is not None  # noqa: PT018
    return {
        "s_customer": list(zip(ids.tolist(), h.created_day.tolist(), trial.tolist(),
                               plan.tolist(), seats.tolist(), renewal.astype(float).tolist(),
                               newsletter.tolist(), strict=True)),
        "s_order": list(zip(ids[o.customer].tolist(), o.day.tolist(), o.amount.tolist(),
                            status.tolist(), product.tolist(), strict=True)),
        "s_interaction": list(zip(ids[i.customer].tolist(), i.day.tolist(), i.kind.tolist(),
                                  i.inbound.tolist(), strict=True)),
    }


MOVE = [
    """INSERT INTO customer (id, organization_id, kind, name, stage, tags, custom_fields,
        email_opt_out, created_at, updated_at)
       SELECT id, $1, 'PERSON', 'Bench ' || id, 'CUSTOMER',
              CASE WHEN trial THEN '{trial}'::text[] ELSE '{}'::text[] END,
              jsonb_build_object('plan', ($2::text[])[plan + 1], 'seats', seats,
                                 'renewal_date', to_char(to_timestamp(renewal * 86400)
                                                         AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                                 'newsletter', newsletter),
              false, to_timestamp(created * 86400), now() FROM s_customer""",
    """INSERT INTO customer_order (organization_id, customer_id, amount, currency, status,
        placed_at, line_items, created_at, updated_at)
       SELECT $1, customer_id, CASE WHEN amount = 'NaN' THEN 50 ELSE round(amount::numeric, 2)
              END, CASE WHEN amount = 'NaN' THEN 'USD' ELSE 'EUR' END,
              ($2::text[])[status + 1], to_timestamp(day * 86400),
              jsonb_build_array(jsonb_build_object('sku', 'P' || product, 'quantity', 1)),
              now(), now() FROM s_order""",
    """INSERT INTO interaction (organization_id, customer_id, channel, direction, body,
        occurred_at, metadata, created_at)
       SELECT $1, customer_id, ($2::text[])[channel + 1],
              CASE WHEN inbound THEN 'INBOUND' ELSE 'OUTBOUND' END, '',
              to_timestamp(day * 86400), '{}', now() FROM s_interaction""",
]


async def _catalogue(conn: asyncpg.Connection, org_id: int) -> None:
    await conn.execute(
        "INSERT INTO product (organization_id, sku, name, category, price, currency, active,"
        " attributes, created_at, updated_at)"
        " SELECT $1, 'P' || g, 'Product ' || g, 'D' || (g / $2), 10 + g % 90, 'EUR', true,"
        " '{}', now(), now() FROM generate_series(0, $3 - 1) g",
        org_id, PER_DEPARTMENT, DEPARTMENTS * PER_DEPARTMENT)
    fields = [("plan", "Plan", "SINGLE_SELECT", list(PLANS)), ("seats", "Seats", "NUMBER", []),
              ("renewal_date", "Renewal date", "DATE", []),
              ("newsletter", "Newsletter subscriber", "BOOLEAN", [])]
    for position, (key, label, kind, options) in enumerate(fields):
        await conn.execute(
            "INSERT INTO custom_field_definition (organization_id, object_type, key, label,"
            " field_type, options, position) VALUES ($1, 'CUSTOMER', $2, $3, $4, $5, $6)",
            org_id, key, label, kind, options, position)


async def seed(url: str, customers: int, seed_value: int) -> int:
    """A new organization of ``customers`` customers; its id."""
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        org_id = int(await conn.fetchval(
            "INSERT INTO organization (name, slug, currency, created_at) VALUES ($1, $1, 'EUR',"
            " now()) RETURNING id", f"ml-run-bench-{uuid.uuid4().hex[:8]}"))
        await _catalogue(conn, org_id)
        first = int(await conn.fetchval("SELECT nextval('customer_id_seq')"))
        await conn.execute("SELECT setval('customer_id_seq', $1)", first + customers + 1)
        await conn.execute(STAGING)
        end_day, started = to_day(datetime.now(UTC)), time.perf_counter()
        for done in range(0, customers, BLOCK):
            size = min(BLOCK, customers - done)
            data = _block(first + done, size, seed_value + done, end_day)
            async with conn.transaction():
                for table, records in data.items():
                    await conn.execute(f"TRUNCATE {table}")
                    await conn.copy_records_to_table(table, records=records)
                extras = ([list(PLANS)], [STATUSES], [list(CHANNELS)])
                for sql, extra in zip(MOVE, extras, strict=True):
                    await conn.execute(sql, org_id, *extra)
            rate = (done + size) / (time.perf_counter() - started)
            print(f"  seeded {done + size:>9,} / {customers:,} customers"
                  f" ({len(data['s_order']):,} orders, {len(data['s_interaction']):,}"
                  f" interactions in this block; {rate:,.0f} customers/s)", flush=True)
        print("  analyzing", flush=True)
        await conn.execute("ANALYZE customer; ANALYZE customer_order; ANALYZE interaction;"
                           " ANALYZE customer_change; ANALYZE product")
    finally:
        await conn.close()
    return org_id


async def _definitions(url: str, org_id: int) -> None:
    from db import prediction_definition as definitions

    await database.connect(url, _settings())
    try:
        for name, outcome in (("refund_risk", {"kind": "ORDER_STATUS", "status": "REFUNDED"}),
                              ("cancel_risk", {"kind": "ORDER_STATUS", "status": "CANCELLED"})):
            await definitions.create(org_id=org_id, user_id=None, data={
                "name": name, "outcome": outcome, "horizon_days": 90})
    finally:
        await database.disconnect()


# --- the measured worker --------------------------------------------------------------------


class _Sampler(threading.Thread):
    """Peak RSS of this process between marks, from /proc (every 20 ms)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.page = os.sysconf("SC_PAGE_SIZE")

    def rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def run(self) -> None:
        while True:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.02)

    def take(self) -> int:
        peak, self.peak = max(self.peak, self.rss()), self.rss()
        return peak


def _worker(url: str, run_id: int, out: Any) -> None:
    """Child process: the real training entry point, with its progress stages recorded."""
    from db import prediction
    from ml import jobs

    sampler = _Sampler()
    sampler.start()
    marks: list[tuple[str, float, float, int]] = []
    stage = ["starting the worker, loading the history"]
    original = prediction.report_progress

    def mark(name: str) -> None:
        marks.append((stage[0], time.perf_counter(), time.process_time(), sampler.take()))
        (_, t0, c0, _), (done, t1, c1, peak) = marks[-2:]
        print(f"  done: {done} ({t1 - t0:.1f} s, CPU {c1 - c0:.1f} s, peak RSS"
              f" {peak / 2**20:.0f} MB)", flush=True)  # as it goes: long runs show progress
        stage[0] = name

    async def report(run: int, progress: float, name: str) -> None:
        mark(name)
        await original(run, progress, name)

    prediction.report_progress = report  # type: ignore[assignment]
    marks.append(("", time.perf_counter(), time.process_time(), sampler.take()))
    jobs.run_training(url, _settings(), run_id)
    mark("")
    rows = [(name, t1 - t0, c1 - c0, peak / 2**20)
            for (_, t0, c0, _), (name, t1, c1, peak) in itertools.pairwise(marks)]
    out.put({"stages": rows,
             "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


async def _start_run(url: str, org_id: int) -> int:
    from db import prediction

    await database.connect(url, _settings())
    try:
        run, _ = await prediction.start_run(org_id=org_id, user_id=None, as_of=datetime.now(UTC),
                                            horizon_days=90, backtest=False)
        return int(run["id"])
    finally:
        await database.disconnect()


async def _finished(url: str, run_id: int, org_id: int) -> tuple[Any, dict[str, int]]:
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        run = await conn.fetchrow("SELECT status, error, results FROM training_run WHERE id = $1",
                                  run_id)
        counts = dict(await conn.fetchrow(
            "SELECT (SELECT count(*) FROM customer WHERE organization_id = $1) AS customers,"
            " (SELECT count(*) FROM customer_order WHERE organization_id = $1) AS orders,"
            " (SELECT count(*) FROM interaction WHERE organization_id = $1) AS interactions,"
            " (SELECT count(*) FROM prediction WHERE organization_id = $1) AS predictions,"
            " (SELECT count(*) FROM customer_score WHERE organization_id = $1) AS scores,"
            " (SELECT coalesce(sum(cardinality(product_ids)), 0) FROM recommendation_list WHERE"
            " organization_id = $1)"
            " AS recommendations", org_id))
        return run, counts
    finally:
        await conn.close()


def _print(result: dict[str, Any], run: Any, counts: dict[str, int], load: tuple[float, ...],
           ) -> None:
    print(f"\n{counts}")
    print(f"load average before {load[0]:.1f}, after {os.getloadavg()[0]:.1f}"
          f" ({os.cpu_count()} CPUs)\n")
    print(f"| {'stage (as the worker reports it)':<44} | wall s | CPU s | peak RSS MB |")
    print(f"|{'-' * 46}|--------|-------|-------------|")
    for name, wall, cpu, peak in result["stages"]:
        print(f"| {name or '(end)':<44} | {wall:6.1f} | {cpu:5.1f} | {peak:11.0f} |")
    wall = sum(s[1] for s in result["stages"])
    cpu = sum(s[2] for s in result["stages"])
    print(f"| {'total':<44} | {wall:6.1f} | {cpu:5.1f} | {result['max_rss_mb']:11.0f} |")
    print(f"\nrun: {run['status']} {run['error'] or ''}")
    import orjson
    for r in orjson.loads(run["results"] or "[]"):
        print(f"  {r.get('kind')} {r.get('prediction', '')}: {r.get('status')}"
              f" - {r.get('message')}")
        m = r.get("metrics") or {}
        shown = {k: m[k] for k in ("roc_auc", "brier", "rmse", "mae", "served", "customers")
                 if k in m}
        for name in ("model", "baseline", "baselines"):
            if name in m:
                shown[name] = m[name]
        print(f"    {shown}")


# what a training run rewrites: an earlier run's rows are dead tuples until vacuumed
REWRITTEN = ("prediction", "customer_score", "recommendation_list", "recommendation_popular",
             "product_neighbour", "prediction_model", "training_run")


async def _vacuum(url: str) -> None:
    """Vacuum what earlier runs rewrote, as autovacuum would have between two runs (a server
    with ``autovacuum = off``, as this machine's is, would otherwise slow every run down)."""
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        t0 = time.perf_counter()
        for table in REWRITTEN:
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        print(f"  vacuumed what earlier runs rewrote in {time.perf_counter() - t0:.1f} s")
    finally:
        await conn.close()


async def _prepare(args: argparse.Namespace) -> tuple[str, int]:
    admin = await asyncpg.connect(**database.connection_params(SERVER))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", args.db):
            await admin.execute(f'CREATE DATABASE "{args.db}"')
    finally:
        await admin.close()
    url = SERVER.rsplit("/", 1)[0] + f"/{args.db}"
    await database.migrate(url, _settings())
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        found = await conn.fetchval(
            "SELECT o.id FROM organization o WHERE o.slug LIKE 'ml-run-bench-%' AND"
            " (SELECT count(*) FROM customer c WHERE c.organization_id = o.id) = $1"
            " ORDER BY o.id DESC LIMIT 1", args.customers) if args.reuse else None
    finally:
        await conn.close()
    if found is not None:
        print(f"reusing organization {found}")
        await _vacuum(url)
        return url, int(found)
    t0 = time.perf_counter()
    org_id = await seed(url, args.customers, args.seed)
    await _definitions(url, org_id)
    print(f"seeded in {time.perf_counter() - t0:.0f} s")
    return url, org_id


def main() -> None:
    """Seed if needed, run one training run in a worker, print the per-stage table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", default=DATABASE)
    parser.add_argument("--reuse", action="store_true", help="train an earlier seeded org")
    parser.add_argument("--seed-only", action="store_true")
    args = parser.parse_args()
    url, org_id = asyncio.run(_prepare(args))
    if args.seed_only:
        return
    run_id = asyncio.run(_start_run(url, org_id))
    load = os.getloadavg()
    context = worker_context()  # the server's: spawned, with its environment
    queue = context.Queue()
    worker = context.Process(target=_worker, args=(url, run_id, queue))
    worker.start()
    result = queue.get()
    worker.join()
    run, counts = asyncio.run(_finished(url, run_id, org_id))
    _print(result, run, counts, load)


if __name__ == "__main__":
    main()
