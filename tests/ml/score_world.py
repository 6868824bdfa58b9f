"""A simulated population with a planted refund rule, written to the database (tests, bench).

Customers tagged "trial" who buy rarely have orders refunded about every 20 days; everyone else
about every 400 days. Cancellations happen to everyone alike (every 150 days): nothing predicts
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from db.sql import fetch

DAYS = 400


@dataclass
class World:
    """The customers written (ids in insertion order) and who follows the planted rule."""

    ids: list[int]
    rule: np.ndarray  # bool per customer: tagged trial and buys rarely


def _events(rng: np.random.Generator, rates: np.ndarray, days: float) -> tuple[np.ndarray,
                                                                                np.ndarray]:
    counts = rng.poisson(rates * days)
    who = np.repeat(np.arange(len(rates)), counts)
    return who, rng.uniform(0, days, len(who))


async def build(org_id: int, n: int = 1500, seed: int = 7) -> World:
    """Customers created ``DAYS`` days ago with PAID, REFUNDED and CANCELLED orders."""
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    start = now - timedelta(days=DAYS)
    trial = rng.random(n) < 0.4
    rare = rng.random(n) < 0.5
    tags = [["trial"] if t else (["newsletter"] if i % 3 == 0 else []) for i, t in
            enumerate(trial)]
    rows = await fetch(
        "INSERT INTO customer (organization_id, kind, name, stage, tags, custom_fields,"
        " email_opt_out, created_at, updated_at)"
        " SELECT $1, 'PERSON', 'Sim ' || k, 'CUSTOMER',"
        " coalesce(string_to_array(t, ','), '{}'), '{}', false,"
        " $3, $3 FROM unnest($2::text[]) WITH ORDINALITY AS u(t, k) ORDER BY k RETURNING id",
        [org_id, [",".join(t) if t else None for t in tags], start],
    )
    ids = np.array([r["id"] for r in rows], dtype=np.int64)
    rule = trial & rare
    paid = _events(rng, np.where(rare, 1 / 90, 1 / 12), DAYS)
    refunded = _events(rng, np.where(rule, 1 / 20, 1 / 400), DAYS)
    cancelled = _events(rng, np.full(n, 1 / 150), DAYS)
    for status, (who, day) in (("PAID", paid), ("REFUNDED", refunded),
                               ("CANCELLED", cancelled)):
        await fetch(
            "INSERT INTO customer_order (organization_id, customer_id, amount, currency, status,"
            " placed_at, line_items, created_at, updated_at)"
            " SELECT $1, c, 40, 'EUR', $4, $5::timestamptz + make_interval(secs => d * 86400),"
            " '[]', now(),"
            " now() FROM unnest($2::bigint[], $3::float8[]) AS u(c, d)",
            [org_id, ids[who].tolist(), day.tolist(), status, start],
        )
    return World([int(i) for i in ids], rule)
