"""Search benchmark: 1M customers copied into a bench database, then `customers(filter:
{search})` timed through the API's data-access function (db.customer.ranked + fetch_page),
ordered by relevance and by newest first, with the EXPLAIN of each term's statement.

    .venv/bin/python -m bench.search_bench [--customers 1000000] [--runs 30] [--database-url URL]

Without --database-url it creates (and drops) a database on the local server at 127.0.0.1.
The trigram index is dropped for the COPY and built again after it (faster than maintaining
it row by row). Figures on a shared 2-core machine are rough.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from faker import Faker

from core import database
from core.config import Settings
from db import customer as customers
from db.customer_filter import CustomerFilter
from db.pagination import PageArgs, fetch_page
from db.sql import fetch

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


LOCALES = ("en_US", "es_ES", "de_DE", "fr_FR", "it_IT", "pl_PL", "nl_NL", "pt_BR")
# the names the ranking cases need, beside Faker's
KNOWN_FIRST = ("Sara", "Lucia", "Fatima", "Olga", "Peter")
KNOWN_LAST = ("Mora", "Ledesma", "Godard", "Goddard", "Kowalski", "Petrov", "Tanaka")


@dataclass(frozen=True)
class Pools:
    """Names to draw from, each list with Zipf-like weights (a few names are common)."""

    first: list[str]
    last: list[str]
    companies: list[str]
    domains: list[str]

    @staticmethod
    def weights(values: list[str]) -> list[float]:
        return [1 / (rank + 10) for rank in range(len(values))]


def _pools(seed: int) -> Pools:
    fake = Faker(list(LOCALES))
    fake.seed_instance(seed)

    def pool(make: Any, known: tuple[str, ...], draws: int) -> list[str]:
        found = list(dict.fromkeys([*known, *(make() for _ in range(draws))]))
        random.Random(seed).shuffle(found)
        return found

    return Pools(
        first=pool(fake.first_name, KNOWN_FIRST, 30_000),
        last=pool(fake.last_name, KNOWN_LAST, 40_000),
        companies=pool(fake.company, ("Hooli Inc",), 20_000),
        domains=pool(fake.free_email_domain, (), 2_000),
    )


TERMS = (
    ("two words", "Sara Mora"),
    ("reversed", "Mora Sara"),
    ("typo", "Goddard"),
    ("middle name left out", "Lucia Ledesma"),
    ("rare full name", "Fatima Kowalski"),
    ("one common word", "Smith"),
    ("email part", "olga.petrov"),
    ("phone digits", "4930555"),
    ("company and name", "Hooli Tanaka"),
)


def _rows(
    start: int, stop: int, org_id: int, pools: Pools, rng: random.Random, stamp: datetime
) -> list[tuple[Any, ...]]:
    """Customers ``start``..``stop - 1``: Zipf-distributed names, a third with a middle name."""
    n = stop - start
    first = rng.choices(pools.first, Pools.weights(pools.first), k=n)
    last = rng.choices(pools.last, Pools.weights(pools.last), k=n * 2)
    company = rng.choices(pools.companies, Pools.weights(pools.companies), k=n)
    rows = []
    for i, cid in enumerate(range(start, stop)):
        middle = f" {last[n + i]}" if rng.random() < 0.3 else ""
        name = f"{first[i]}{middle} {last[i]}"
        local = f"{first[i]}.{last[i]}{cid}".lower().replace(" ", "")
        email = f"{local}@{rng.choice(pools.domains)}" if rng.random() < 0.8 else None
        phone = f"+49{rng.randrange(10**9, 10**10)}" if rng.random() < 0.5 else None
        created = stamp - timedelta(minutes=cid)
        rows.append((cid, org_id, "PERSON", name, email, phone, company[i], "CUSTOMER", [],
                     "{}", False, created, created))
    return rows


async def _load(url: str, count: int, seed: int) -> int:
    """Copy ``count`` generated customers into one organization; returns its id."""
    conn = await asyncpg.connect(**database.connection_params(url))
    await conn.set_type_codec(  # COPY is binary: jsonb is a version byte, then the text
        "jsonb", schema="pg_catalog", format="binary",
        encoder=lambda text: b"\x01" + text.encode(), decoder=lambda data: data[1:].decode(),
    )
    try:
        org_id = await conn.fetchval(
            "INSERT INTO organization (name, slug, currency, created_at)"
            " VALUES ($1, $1, 'EUR', now()) RETURNING id", f"search-{uuid.uuid4().hex[:8]}")
        await conn.execute("DROP INDEX customer_search_trgm_idx")
        rng, stamp, chunk = random.Random(seed), datetime.now(UTC), 100_000
        pools = _pools(seed)
        for start in range(1, count + 1, chunk):
            await conn.copy_records_to_table("customer", columns=(
                "id", "organization_id", "kind", "name", "email", "phone", "company", "stage",
                "tags", "custom_fields", "email_opt_out", "created_at", "updated_at"),
                records=_rows(start, min(start + chunk, count + 1), org_id, pools, rng, stamp))
        await conn.execute("SELECT setval('customer_id_seq', $1)", count + 1)
        t0 = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '512MB'")
        await conn.execute(
            "CREATE INDEX customer_search_trgm_idx ON customer"
            " USING gin (search_text gin_trgm_ops)")
        print(f"trigram index built in {time.perf_counter() - t0:.0f} s")
        await conn.execute("VACUUM ANALYZE customer")
    finally:
        await conn.close()
    return org_id


async def _time(org_id: int, term: str, order: str, runs: int) -> tuple[list[float], int]:
    """Milliseconds of each run of the first page (20 rows), and how many rows it held."""
    f = CustomerFilter(search=term)
    sort = customers.ranked(org_id, f)[1] if order == "RELEVANCE" else customers.SORTS[order]
    args = PageArgs(limit=20, backward=False, after=None, before=None)
    times, hits = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        page = await fetch_page(customers.source(org_id, f), sort, args)
        times.append((time.perf_counter() - t0) * 1000)
        hits = len(page.rows)
    return sorted(times), hits


async def _explain(org_id: int, term: str) -> list[str]:
    """EXPLAIN ANALYZE of the relevance-ordered page's statement."""
    f = CustomerFilter(search=term)
    source, sort = customers.ranked(org_id, f)
    params = source.params
    sql = (f"SELECT {source.columns}, {sort.expr} AS sort_key FROM {source.table} t"
           f" WHERE {source.where} ORDER BY {sort.expr} DESC, t.id DESC"
           f" LIMIT {params.add(21)}")
    rows = await fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params.values)
    return [row["QUERY PLAN"] for row in rows]


def _pct(times: list[float], q: float) -> float:
    return times[min(len(times) - 1, int(q * len(times)))]


async def _measure(org_id: int, runs: int) -> None:
    all_times: list[float] = []
    print(f"\n{'term':<34} {'order':<16} {'rows':>4} {'p50 ms':>8} {'p99 ms':>8}")
    for label, term in TERMS:
        for order in ("RELEVANCE", "CREATED_AT_DESC"):
            times, hits = await _time(org_id, term, order, runs)
            all_times += times
            print(f"{label + ': ' + term:<34} {order:<16} {hits:>4}"
                  f" {_pct(times, 0.5):8.1f} {_pct(times, 0.99):8.1f}")
    all_times.sort()
    print(f"\nall searches: p50 {_pct(all_times, 0.5):.1f} ms, p99 {_pct(all_times, 0.99):.1f} ms"
          f" over {len(all_times)} runs")
    for label, term in TERMS[:3] + TERMS[5:6]:
        print(f"\nEXPLAIN {label} ({term!r}), by relevance:")
        for line in await _explain(org_id, term):
            print("  " + line)


async def _main(args: argparse.Namespace) -> None:
    settings = Settings(env="test", secret_key="bench-" + "x" * 40)
    url, admin, name = args.database_url, None, None
    if url is None:
        name = f"crm_search_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(**database.connection_params(SERVER))
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = SERVER.rsplit("/", 1)[0] + f"/{name}"
    try:
        if name is not None:
            await database.migrate(url, settings)
            t0 = time.perf_counter()
            org_id = await _load(url, args.customers, args.seed)
            print(f"{args.customers} customers generated, copied and indexed in"
                  f" {time.perf_counter() - t0:.0f} s ({url})")
        else:
            conn = await asyncpg.connect(**database.connection_params(url))
            org_id = await conn.fetchval("SELECT max(id) FROM organization")
            await conn.close()
        await database.connect(url, settings)
        try:
            await _measure(org_id, args.runs)
        finally:
            await database.disconnect()
    finally:
        if admin is not None:
            if not args.keep:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="measure a database seeded before (--keep)")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
