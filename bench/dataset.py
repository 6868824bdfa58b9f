"""The benchmark database: which server, then migrated and seeded with the project's own `crm`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg

from bench import queries
from bench.console import say
from core import database

SYSTEM_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "crm_bench"
DATA_DIR = Path(__file__).resolve().parent / ".data"
CRM = str(Path(sys.executable).with_name("crm"))


@dataclass
class Target:
    """Where the benchmark's data lives and how `crm` subprocesses reach it."""

    url: str
    crm_env: dict[str, str]
    kind: str  # "given", "system" or "embedded"

    @property
    def owned(self) -> bool:
        """Whether the benchmark created this database (so --reseed may drop it)."""
        return self.kind != "given"


@dataclass
class SeedReport:
    """What the data looked like and what it cost to make it."""

    customers: int = 0
    interactions: int = 0
    orders: int = 0
    reused: bool = False
    seeded_customers: int = 0
    seed_seconds: float | None = None
    vacuum_seconds: float | None = None
    server_version: str = ""
    notes: list[str] = field(default_factory=list)


def _environment(**overrides: str | None) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


async def _reachable(url: str) -> bool:
    try:
        conn = await asyncpg.connect(**database.connection_params(url), timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def _create_database(server_url: str, name: str, *, drop: bool = False) -> None:
    admin = await asyncpg.connect(**database.connection_params(server_url))
    try:
        if drop:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def _ensure_database(url: str) -> None:
    """Create the URL's database on its server when it does not exist yet."""
    try:
        conn = await asyncpg.connect(**database.connection_params(url))
    except asyncpg.InvalidCatalogNameError:
        name = database.connection_params(url)["database"]
        say(f"Creating database {name}")
        await _create_database(_with_database(url, "postgres"), name)
    else:
        await conn.close()


def choose(database_url: str | None, *, embedded: bool = False) -> Target:
    """--database-url, else DATABASE_URL, else crm_bench on the system server, else embedded."""
    url = None if embedded else database_url or os.environ.get("DATABASE_URL")
    if url:
        asyncio.run(_ensure_database(url))
        return Target(url, _environment(DATABASE_URL=url), "given")
    if not embedded and asyncio.run(_reachable(SYSTEM_SERVER)):
        asyncio.run(_create_database(SYSTEM_SERVER, BENCH_DATABASE))
        url = _with_database(SYSTEM_SERVER, BENCH_DATABASE)
        return Target(url, _environment(DATABASE_URL=url), "system")
    say(f"Using the embedded PostgreSQL in {DATA_DIR}")
    # This process holds the embedded server open until it exits; `crm` subprocesses started
    # without DATABASE_URL and with CRM_DATA_DIR find the same server running and share it.
    url = database.start_embedded(DATA_DIR)
    env = _environment(DATABASE_URL=None, CRM_DATABASE_URL=None, CRM_DATA_DIR=str(DATA_DIR))
    return Target(url, env, "embedded")


def crm(target: Target, *argv: str) -> float:
    """Run a `crm` command against the target; the seconds it took."""
    started = time.perf_counter()
    subprocess.run([CRM, *argv], env=target.crm_env, check=True)
    return time.perf_counter() - started


async def _counts(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        version = await conn.fetchval("SHOW server_version")
        org_id = await conn.fetchval(
            "SELECT id FROM organization WHERE slug = $1", queries.ORG
        ) if await conn.fetchval("SELECT to_regclass('organization') IS NOT NULL") else None
        if org_id is None:
            return {"version": version, "customers": 0, "interactions": 0, "orders": 0,
                    "users": set()}
        found = {}
        for table in ("customer", "interaction", "customer_order"):
            found[table] = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE organization_id = $1", org_id
            )
        users = {r["email"] for r in await conn.fetch(
            "SELECT lower(email) AS email FROM app_user WHERE organization_id = $1", org_id
        )}
        return {"version": version, "customers": found["customer"], "users": users,
                "interactions": found["interaction"], "orders": found["customer_order"]}
    finally:
        await conn.close()


async def _delete_bench_rows(url: str) -> None:
    """Remove the bench organization's customers and activity (its users stay)."""
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        org_id = await conn.fetchval("SELECT id FROM organization WHERE slug = $1", queries.ORG)
        async with conn.transaction():
            for table in ("interaction", "customer_order", "customer"):
                await conn.execute(f"DELETE FROM {table} WHERE organization_id = $1", org_id)
    finally:
        await conn.close()


async def _vacuum(url: str) -> None:
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        for table in ("customer", "customer_order", "interaction"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        await conn.close()


async def _shape_first_page(url: str) -> int:
    """Give the nested page the shape the figures are quoted for; the customers it moved.

    The seeder's newest customers are new (little or no history), so ``customers(first: 50)``
    would show few interactions. The page the figures describe (issue 12: 50 customers with 5
    interactions each, ~56 KB) is restored by making 50 customers with at least that much
    history the newest, picked by a hash of their id (typical customers, not the busiest: the
    page's summaries would cost PostgreSQL more); their ``created_at`` moves to the last
    minutes. Idempotent.
    """
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        org_id = await conn.fetchval("SELECT id FROM organization WHERE slug = $1", queries.ORG)
        short = await conn.fetchval(
            "SELECT count(*) FROM (SELECT c.id FROM customer c WHERE c.organization_id = $1"
            " AND c.deleted_at IS NULL ORDER BY c.created_at DESC, c.id DESC LIMIT $2) page"
            " WHERE (SELECT count(*) FROM interaction i WHERE i.customer_id = page.id) < $3",
            org_id, queries.PAGE_SIZE, queries.NESTED_SIZE,
        )
        if not short:
            return 0
        status = await conn.execute(
            "UPDATE customer c SET created_at = now() - ranked.n * interval '1 minute'"
            " FROM (SELECT i.customer_id AS id, row_number() OVER ("
            "ORDER BY md5(i.customer_id::text)) AS n FROM interaction i"
            " JOIN customer k ON k.id = i.customer_id WHERE i.organization_id = $1"
            " AND k.deleted_at IS NULL GROUP BY i.customer_id HAVING count(*) >= $3"
            " ORDER BY md5(i.customer_id::text) LIMIT $2) ranked WHERE c.id = ranked.id",
            org_id, queries.PAGE_SIZE, queries.NESTED_SIZE,
        )
        return int(status.split()[-1])
    finally:
        await conn.close()


def _reset(target: Target) -> None:
    if target.kind == "system":
        asyncio.run(_create_database(SYSTEM_SERVER, BENCH_DATABASE, drop=True))
    elif target.kind == "embedded":
        server = _with_database(target.url, "postgres")
        asyncio.run(_create_database(server, database.EMBEDDED_DATABASE, drop=True))
    else:
        crm(target, "migrate")
        asyncio.run(_delete_bench_rows(target.url))


def prepare(target: Target, customers: int, *, reseed: bool) -> SeedReport:
    """Migrate; create the bench users; seed up to ``customers`` customers unless already there."""
    if reseed:
        say("--reseed: starting from an empty bench organization")
        _reset(target)
    crm(target, "migrate")
    before = asyncio.run(_counts(target.url))
    for email in (queries.EMAIL, *queries.AGENT_EMAILS):
        if email not in before["users"]:
            role = "admin" if email == queries.EMAIL else "agent"
            crm(target, "users", "create", "--org", queries.ORG, "--email", email,
                "--password", queries.PASSWORD, "--role", role.upper(),
                "--name", email.split("@")[0])
    report = SeedReport()
    missing = customers - before["customers"]
    if missing <= 0:
        report.reused = True
        say(f"Reusing the seeded bench organization ({before['customers']:,} customers)")
    else:
        say(f"Seeding {missing:,} customers (crm seed) ...")
        report.seed_seconds = crm(
            target, "seed", "--org", queries.ORG, "--customers", str(missing)
        )
        report.seeded_customers = missing
        if before["customers"]:
            report.notes.append(
                f"added {missing:,} customers to {before['customers']:,} already seeded"
            )
        # steady state: what autovacuum would reach anyway, done now so it does not run
        # in the middle of the measurements (seed only ANALYZEs)
        say("VACUUM (ANALYZE) after seeding ...")
        started = time.perf_counter()
        asyncio.run(_vacuum(target.url))
        report.vacuum_seconds = time.perf_counter() - started
    promoted = asyncio.run(_shape_first_page(target.url))
    if promoted:
        report.notes.append(f"moved {promoted} customers with history to the first page")
    after = asyncio.run(_counts(target.url))
    report.customers, report.interactions, report.orders = (
        after["customers"], after["interactions"], after["orders"]
    )
    report.server_version = after["version"]
    return report
