"""ML benchmark: a generated history of 100,000 customers (~1M orders, ~1M interactions) in
PostgreSQL, then every stage of a training run timed: loading, each model, scoring everyone,
writing the predictions; peak memory and validation metrics next to the baselines.

    .venv/bin/python -m bench.ml_bench [--customers 100000] [--database-url URL]

Without --database-url it creates (and drops) a database on the local server at 127.0.0.1.
Figures on a shared machine are rough; see bench/ML.md.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

import asyncpg
import numpy as np
from tortoise.transactions import in_transaction

from core import database
from core.config import Settings
from db import prediction as predictions
from db.sql import fetch
from ml import history as histories
from ml import publish
from ml.features import CHANNELS, from_day, to_day
from ml.training import train_all
from tests.ml.simulate import simulate

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _load(url: str, customers: int, seed: int) -> tuple[int, dict[str, int]]:
    """Write the simulated history with COPY; returns the organization id and row counts."""
    now = to_day(datetime.now(UTC))
    h = simulate(customers, end_day=now, seed=seed, mean_gap_days=28.0).history
    conn = await asyncpg.connect(**database.connection_params(url))
    await conn.set_type_codec(  # COPY is binary: jsonb is a version byte, then the text
        "jsonb", schema="pg_catalog", format="binary",
        encoder=lambda text: b"\x01" + text.encode(), decoder=lambda data: data[1:].decode(),
    )
    try:
        org_id = await conn.fetchval(
            "INSERT INTO organization (name, slug, currency, created_at)"
            " VALUES ($1, $1, 'EUR', now()) RETURNING id", f"ml-bench-{uuid.uuid4().hex[:8]}")
        ids = [r[0] for r in await conn.fetch(
            "SELECT nextval('customer_id_seq') FROM generate_series(1, $1)", h.size)]
        stamp = datetime.now(UTC)
        await conn.copy_records_to_table("customer", columns=(
            "id", "organization_id", "kind", "name", "stage", "tags", "custom_fields",
            "email_opt_out", "created_at", "updated_at"), records=[
            (cid, org_id, "PERSON", f"Bench {cid}", "CUSTOMER", [], "{}", False,
             from_day(float(d)), stamp) for cid, d in zip(ids, h.created_day, strict=True)])
        o = h.orders
        assert o.amount is not None
        await conn.copy_records_to_table("customer_order", columns=(
            "organization_id", "customer_id", "amount", "currency", "status", "placed_at",
            "line_items", "created_at", "updated_at"), records=[
            (org_id, ids[c], Decimal(50 if np.isnan(a) else round(float(a), 2)),
             "USD" if np.isnan(a) else "EUR", "PAID", from_day(float(d)), "[]", stamp, stamp)
            for c, d, a in zip(o.customer, o.day, o.amount, strict=True)])
        i = h.interactions
        assert i.kind is not None and i.inbound is not None  # noqa: PT018
        await conn.copy_records_to_table("interaction", columns=(
            "organization_id", "customer_id", "channel", "direction", "body", "occurred_at",
            "metadata", "created_at"), records=[
            (org_id, ids[c], CHANNELS[k], "INBOUND" if inbound else "OUTBOUND", "",
             from_day(float(d)), "{}", stamp)
            for c, d, k, inbound in zip(i.customer, i.day, i.kind, i.inbound, strict=True)])
        await conn.execute("ANALYZE customer; ANALYZE customer_order; ANALYZE interaction")
    finally:
        await conn.close()
    return org_id, {"customers": h.size, "orders": len(o.day), "interactions": len(i.day)}


async def _train(org_id: int, max_rows: int) -> dict[str, Any]:
    """The worker's training run, stage by stage, with wall times."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    as_of = datetime.now(UTC)
    history = await histories.load_history(org_id=org_id, as_of=as_of)
    times["load history (SQL to arrays)"] = time.perf_counter() - start
    marks: list[tuple[str, float]] = []
    outcomes = train_all(history, to_day(as_of), 90.0, max_rows=max_rows,
                         progress=lambda f, stage: marks.append((stage, time.perf_counter())))
    marks.append(("end", time.perf_counter()))
    for (stage, t0), (_, t1) in pairwise(marks):
        times[stage] = t1 - t0
    models = publish.scoring_models(outcomes, {}, [])
    t0 = time.perf_counter()
    rows = publish.score_rows(history, as_of, models)
    times[f"score {len(rows.customer_ids)} customers (with reasons)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    async with in_transaction() as conn:
        await predictions.write_predictions(
            rows, org_id=org_id, model_version="bench", as_of=as_of, horizon_days=90,
            replace_all=True, using=conn)
    times["write predictions"] = time.perf_counter() - t0
    return {"times": times, "outcomes": outcomes}


async def _sorted_page(org_id: int) -> float:
    """Milliseconds for a page of customers ordered by churn risk (the API's SQL)."""
    from db import customer as customers
    from db.pagination import PageArgs, fetch_page

    sort = customers.SORTS["CHURN_RISK_DESC"]
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        await fetch_page(customers.source(org_id, customers.CustomerFilter()), sort,
                         PageArgs(limit=50, backward=False, after=None, before=None))
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def _report(counts: dict[str, int], result: dict[str, Any], page_ms: float) -> None:
    print(f"\nhistory: {counts}")
    for stage, seconds in result["times"].items():
        print(f"  {stage:<45} {seconds:8.1f} s")
    print(f"  peak memory (max RSS of this process)         {_peak_mb():8.0f} MB")
    print(f"  page of 50 customers by churn risk            {page_ms:8.1f} ms")
    for kind, outcome in result["outcomes"].items():
        m = {k: v for k, v in outcome.metrics.items() if k not in ("importances", "profiles")}
        print(f"\n{kind}: {outcome.status} ({outcome.message}); "
              f"train rows {outcome.train_samples}, validation rows {outcome.validation_samples}")
        print(f"  {m}")


async def _main(args: argparse.Namespace) -> None:
    settings = Settings(env="test", secret_key="bench-" + "x" * 40)
    url, admin, name = args.database_url, None, None
    if url is None:
        name = f"crm_ml_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(**database.connection_params(SERVER))
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = SERVER.rsplit("/", 1)[0] + f"/{name}"
    try:
        await database.migrate(url, settings)
        t0 = time.perf_counter()
        org_id, counts = await _load(url, args.customers, args.seed)
        print(f"generated and copied in {time.perf_counter() - t0:.0f} s")
        await database.connect(url, settings)
        try:
            await fetch("SELECT 1")
            result = await _train(org_id, args.max_rows)
            page_ms = await _sorted_page(org_id)
        finally:
            await database.disconnect()
        _report(counts, result, page_ms)
    finally:
        if admin is not None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-rows", type=int, default=300_000, help="training rows cap")
    parser.add_argument("--database-url")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
