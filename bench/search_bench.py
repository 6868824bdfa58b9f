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
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from core import database
from core.config import Settings
from db import customer as customers
from db.customer_filter import CustomerFilter
from db.pagination import PageArgs, fetch_page
from db.sql import fetch

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def _names(text: str) -> list[str]:
    return text.split()


FIRST = _names(
    "Sara Ana Lucia Maria Carmen Elena Paula Laura Marta Julia Peter John James Robert "
    "Michael David William Richard Thomas Daniel Saul Ann Mary Linda Susan Karen Olga Ivan "
    "Pierre Hans Yuki Chen Amir Fatima Noah Liam Emma Olivia Mia"
)
LAST = _names(
    "Mora Ledesma Garcia Martinez Lopez Sanchez Perez Gomez Martin Jimenez Ruiz Hernandez "
    "Diaz Moreno Alvarez Romero Alonso Gutierrez Navarro Torres Dominguez Vazquez Ramos "
    "Gil Ramirez Serrano Blanco Suarez Molina Castro Ortega Rubio Marin Sanz Iglesias "
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore "
    "Jackson White Harris Clark Lewis Walker Hall Allen Young King Wright Scott Green "
    "Baker Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans Turner Godard "
    "Goddard Petrov Ivanov Muller Schmidt Schneider Fischer Weber Meyer Wagner Becker "
    "Tanaka Suzuki Watanabe Kowalski Nowak Novak Horvat Rossi Russo Ferrari Esposito"
)
COMPANIES = _names(
    "Acme Globex Initech Umbrella Hooli Vandelay Stark Wayne Tyrell Cyberdyne Soylent "
    "Wonka Gringotts Oscorp Aperture Monarch Nakatomi Dunder Prestige Massive"
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


def _row(cid: int, org_id: int, rng: random.Random, stamp: datetime) -> tuple[Any, ...]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    middle = f" {rng.choice(LAST)}" if rng.random() < 0.3 else ""
    name = f"{first}{middle} {last}"
    email = f"{first}.{last}{cid}@example.com".lower() if rng.random() < 0.8 else None
    phone = f"+49{rng.randrange(10**9, 10**10)}" if rng.random() < 0.5 else None
    company = f"{rng.choice(COMPANIES)} {rng.choice(('Inc', 'GmbH', 'Ltd', 'SA'))}"
    created = stamp - timedelta(minutes=cid % 1_000_000)
    return (cid, org_id, "PERSON", name, email, phone, company, "CUSTOMER", [], "{}", False,
            created, created)


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
        for start in range(1, count + 1, chunk):
            await conn.copy_records_to_table("customer", columns=(
                "id", "organization_id", "kind", "name", "email", "phone", "company", "stage",
                "tags", "custom_fields", "email_opt_out", "created_at", "updated_at"),
                records=[_row(cid, org_id, rng, stamp)
                         for cid in range(start, min(start + chunk, count + 1))])
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
        await database.migrate(url, settings)
        t0 = time.perf_counter()
        org_id = await _load(url, args.customers, args.seed)
        print(f"{args.customers} customers generated, copied and indexed in"
              f" {time.perf_counter() - t0:.0f} s")
        await database.connect(url, settings)
        try:
            await _measure(org_id, args.runs)
        finally:
            await database.disconnect()
    finally:
        if admin is not None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
