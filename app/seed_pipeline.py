"""Demo companies (with some customers linked), deals across the default pipeline, and tasks.

Small next to the customers (a few hundred rows at most), so plain batched INSERTs will do.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from core import database

INDUSTRIES = ["Manufacturing", "Retail", "Software", "Logistics", "Healthcare", "Finance",
              "Hospitality", "Energy"]
SIZES = ["MICRO", "SMALL", "MEDIUM", "LARGE", "ENTERPRISE"]
TITLES = ["Head of Purchasing", "CEO", "Operations Manager", "Buyer", "CTO", "Office Manager"]
LOST_REASONS = ["Too expensive", "Chose a competitor", "No budget this year", "No response"]
TASK_TITLES = ["Call back", "Send the proposal", "Prepare the demo", "Follow up on the quote",
               "Check in after delivery", "Renewal reminder"]
MAX_COMPANIES = 60


def _domain(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "company"
    domain, n = f"{base}.example", 1
    while domain in taken:
        n += 1
        domain = f"{base}-{n}.example"
    taken.add(domain)
    return domain


async def seed_pipeline(url: str, org_id: int, seed: int, owner_ids: list[int]) -> None:
    """Add companies, deals and tasks to an organization seeded with customers."""
    rng = random.Random(seed)
    conn = await asyncpg.connect(**database.connection_params(url))
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL crm.publish_events = 'off'")
            companies = await _companies(conn, rng, org_id, owner_ids)
            await _deals(conn, rng, org_id, owner_ids, companies)
            await _tasks(conn, rng, org_id, owner_ids)
    finally:
        await conn.close()


async def _companies(
    conn: asyncpg.Connection, rng: random.Random, org_id: int, owner_ids: list[int]
) -> dict[int, list[int]]:
    """Companies named after the customers' employers, each customer linked to its own.

    Returns the people of each company, keyed by company id.
    """
    rows = await conn.fetch(
        "SELECT id, company, city, country FROM customer WHERE organization_id = $1"
        " AND company IS NOT NULL AND deleted_at IS NULL ORDER BY id", org_id,
    )
    names = sorted({r["company"] for r in rows})[:MAX_COMPANIES]
    taken: set[str] = set()
    people: dict[int, list[int]] = {}
    ids: dict[str, int] = {}
    for name in names:
        sample = next(r for r in rows if r["company"] == name)
        ids[name] = await conn.fetchval(
            "INSERT INTO company (organization_id, name, domain, industry, size, city, country,"
            " custom_fields, owner_id, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, '{}', $8, now(), now()) RETURNING id",
            org_id, name, _domain(name, taken), rng.choice(INDUSTRIES), rng.choice(SIZES),
            sample["city"], sample["country"], rng.choice(owner_ids),
        )
        people[ids[name]] = []
    today = datetime.now(UTC).date()
    links = [r for r in rows if r["company"] in ids]
    await conn.executemany(
        "INSERT INTO company_membership (organization_id, company_id, customer_id, title,"
        " is_primary, started_on, created_at, updated_at) VALUES ($1, $2, $3, $4, true, $5,"
        " now(), now())",
        [(org_id, ids[r["company"]], r["id"], rng.choice(TITLES),
          today - timedelta(days=rng.randint(30, 2000))) for r in links],
    )
    for r in links:
        people[ids[r["company"]]].append(r["id"])
    return people


async def _deals(
    conn: asyncpg.Connection, rng: random.Random, org_id: int, owner_ids: list[int],
    companies: dict[int, list[int]],
) -> None:
    stages = await conn.fetch(
        "SELECT s.id, s.name, s.pipeline_id FROM pipeline_stage s JOIN pipeline p"
        " ON p.id = s.pipeline_id AND p.is_default WHERE s.organization_id = $1"
        " ORDER BY s.position", org_id,
    )
    currency = await conn.fetchval("SELECT currency FROM organization WHERE id = $1", org_id)
    now = datetime.now(UTC)
    for company_id, people in list(companies.items()):
        for _ in range(rng.randint(1, 2)):
            await _deal(conn, rng, org_id, owner_ids, stages, currency, now, company_id, people)


async def _deal(
    conn: asyncpg.Connection, rng: random.Random, org_id: int, owner_ids: list[int],
    stages: list[Any], currency: str, now: datetime, company_id: int, people: list[int],
) -> None:
    reached = rng.randint(0, len(stages) - 1)
    status = rng.choices(["OPEN", "WON", "LOST"], weights=[6, 2, 2])[0]
    started = now - timedelta(days=rng.randint(20, 200))
    entered = [started + timedelta(days=7 * k) for k in range(reached + 1)]
    deal_id = await conn.fetchval(
        "INSERT INTO deal (organization_id, name, amount, currency, pipeline_id, stage_id,"
        " expected_close_on, status, lost_reason, closed_at, owner_id, company_id,"
        " stage_entered_at, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)"
        " RETURNING id",
        org_id, f"{rng.choice(['New', 'Expansion', 'Renewal'])} order", Decimal(
            rng.randrange(500, 50_000, 50)), currency, stages[reached]["pipeline_id"],
        stages[reached]["id"], (now + timedelta(days=rng.randint(-10, 120))).date(), status,
        rng.choice(LOST_REASONS) if status == "LOST" else None,
        entered[-1] if status != "OPEN" else None, rng.choice(owner_ids), company_id,
        entered[-1], started,
    )
    await conn.executemany(
        "INSERT INTO deal_person (organization_id, deal_id, customer_id) VALUES ($1, $2, $3)",
        [(org_id, deal_id, p) for p in rng.sample(people, min(len(people), 2))],
    )
    await conn.executemany(
        "INSERT INTO deal_stage_change (organization_id, deal_id, from_stage_id,"
        " from_stage_name, to_stage_id, to_stage_name, changed_by_id, changed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [(org_id, deal_id, stages[k - 1]["id"] if k else None,
          stages[k - 1]["name"] if k else None, stages[k]["id"], stages[k]["name"],
          rng.choice(owner_ids), entered[k]) for k in range(reached + 1)],
    )


async def _tasks(
    conn: asyncpg.Connection, rng: random.Random, org_id: int, owner_ids: list[int]
) -> None:
    deals = [r["id"] for r in await conn.fetch(
        "SELECT id FROM deal WHERE organization_id = $1 AND status = 'OPEN' ORDER BY id", org_id
    )]
    now = datetime.now(UTC)
    rows = []
    for deal_id in deals:
        status = rng.choices(["OPEN", "DONE"], weights=[3, 1])[0]
        due = now + timedelta(hours=rng.randint(-72, 240))
        rows.append((org_id, rng.choice(TASK_TITLES), due, status,
                     rng.choice(["LOW", "NORMAL", "NORMAL", "HIGH", "URGENT"]),
                     rng.choice(owner_ids), deal_id, now if status == "DONE" else None))
    await conn.executemany(
        "INSERT INTO task (organization_id, title, notes, due_at, status, priority, assignee_id,"
        " deal_id, created_by_id, completed_at, created_at, updated_at)"
        " VALUES ($1, $2, '', $3, $4, $5, $6, $7, $6, $8, now(), now())", rows,
    )
