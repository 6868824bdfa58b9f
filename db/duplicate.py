"""Duplicate customers: candidates of one customer and every likely pair of an organization.

Candidates share a blocking key: the normalised email (``email_key``), the phone (E.164), or
the postal code plus a name token; one customer's candidates also include every trigram-similar
name (``name_key % ...``, GIN index). Each pair is then scored in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from db.sql import fetch, fetch_one

# Only names at least this similar are reported as a NAME reason.
NAME_SIGNAL = 0.3
# The signals of pair (a, b) and its score: an equal normalised email or phone is near-certain,
# a similar name counts three quarters of its similarity; a name at least 0.5 similar earns 0.05
# for each of the same company, postal code and city, and email plus phone together earn 0.05.
SCORED = """
CROSS JOIN LATERAL (SELECT
    (a.email_key = b.email_key) IS TRUE AS same_email,
    (a.phone = b.phone) IS TRUE AS same_phone,
    CASE WHEN a.name_key = b.name_key THEN 1.0
         ELSE similarity(a.name_key, b.name_key)::float8 END AS name_similarity,
    (lower(a.company) = lower(b.company)) IS TRUE AS same_company,
    (a.postal_code = b.postal_code AND a.country IS NOT DISTINCT FROM b.country) IS TRUE
        AS same_postal_code,
    (lower(a.city) = lower(b.city)) IS TRUE AS same_city
) s
CROSS JOIN LATERAL (SELECT least(1.0, greatest(
        CASE WHEN s.same_email THEN 0.95 ELSE 0 END,
        CASE WHEN s.same_phone THEN 0.9 ELSE 0 END,
        0.75 * s.name_similarity)
    + CASE WHEN s.same_email AND s.same_phone THEN 0.05 ELSE 0 END
    + CASE WHEN s.name_similarity >= 0.5 THEN 0.05 * (s.same_company::int
        + s.same_postal_code::int + s.same_city::int) ELSE 0 END)::float8 AS score) sc
"""
SIGNALS = (
    "s.same_email, s.same_phone, s.name_similarity, s.same_company, s.same_postal_code,"
    " s.same_city, sc.score"
)
# How many customers one page of pairs looks at, at most: pages cost the same at any size.
WINDOW = 2000
SHARED_NAME_PART = (
    "(split_part(b.name_key, ' ', 1) = split_part(a.name_key, ' ', 1)"
    " OR substring(b.name_key from '[^ ]+$') = substring(a.name_key from '[^ ]+$'))"
)
LATER_LIVE = "b.organization_id = $1 AND b.deleted_at IS NULL AND b.id > a.id"
# For each customer of the window (id order, from $2), its later partners, each found by an index
# probe: the same email key, phone, or postal code plus the first or last name token (so a typo
# in one name still pairs). A shared name alone is too common to list organization-wide.
SCORED_PAIRS = f"""
WITH w AS (SELECT * FROM customer WHERE organization_id = $1 AND deleted_at IS NULL
           AND id >= $2 ORDER BY id LIMIT $5)
SELECT a.id AS a_id, b.id AS b_id, {SIGNALS}
FROM w a
CROSS JOIN LATERAL (
    SELECT b.id FROM customer b WHERE {LATER_LIVE} AND b.email_key = a.email_key
    UNION
    SELECT b.id FROM customer b WHERE {LATER_LIVE} AND b.phone = a.phone
    UNION
    SELECT b.id FROM customer b WHERE {LATER_LIVE} AND b.postal_code = a.postal_code
        AND b.country IS NOT DISTINCT FROM a.country AND {SHARED_NAME_PART}
) p
JOIN customer b ON b.id = p.id
{SCORED}
WHERE (a.id, b.id) > ($2, $3) AND sc.score >= $4
"""
# Candidates of customer $2: equal email or phone keys, equal or trigram-similar (%) names.
CANDIDATES = f"""
WITH a AS (SELECT * FROM customer WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL),
candidate AS (
    SELECT b.id FROM a JOIN customer b ON b.email_key = a.email_key
        AND b.organization_id = a.organization_id AND b.deleted_at IS NULL
    UNION
    SELECT b.id FROM a JOIN customer b ON b.phone = a.phone
        AND b.organization_id = a.organization_id AND b.deleted_at IS NULL
    UNION
    SELECT b.id FROM a JOIN customer b ON b.name_key % a.name_key
        AND b.organization_id = a.organization_id AND b.deleted_at IS NULL
)
SELECT b.id, {SIGNALS} FROM candidate c JOIN customer b ON b.id = c.id CROSS JOIN a
{SCORED}
WHERE b.id <> a.id AND sc.score >= $3
ORDER BY sc.score DESC, b.id
LIMIT $4
"""


@dataclass(frozen=True)
class Match:
    """Why two customers look alike: per-signal similarities and the combined score."""

    customer_id: int
    duplicate_id: int
    score: float
    signals: dict[str, float]


def _match(customer_id: int, duplicate_id: int, row: dict[str, Any]) -> Match:
    signals = {
        "EMAIL": 1.0 if row["same_email"] else 0.0,
        "PHONE": 1.0 if row["same_phone"] else 0.0,
        "NAME": round(row["name_similarity"], 4) if row["name_similarity"] >= NAME_SIGNAL else 0.0,
        "COMPANY": 1.0 if row["same_company"] else 0.0,
        "POSTAL_CODE": 1.0 if row["same_postal_code"] else 0.0,
        "CITY": 1.0 if row["same_city"] else 0.0,
    }
    return Match(
        customer_id=customer_id, duplicate_id=duplicate_id, score=round(row["score"], 4),
        signals={name: value for name, value in signals.items() if value > 0},
    )


async def candidates(
    *, org_id: int, customer_id: int, min_score: float, limit: int
) -> list[Match]:
    """The live customers most like customer ``customer_id``, best first."""
    rows = await fetch(CANDIDATES, [org_id, customer_id, min_score, limit])
    return [_match(customer_id, row["id"], row) for row in rows]


@dataclass(frozen=True)
class PairPage:
    """Pairs of one page; ``scanned_to``: the last customer looked at when customers remain."""

    matches: list[Match]
    scanned_to: int | None


async def pairs(
    *, org_id: int, min_score: float, after: tuple[int, int] | None, limit: int,
    window: int | None = None,
) -> PairPage:
    """Likely duplicate pairs (customer id < duplicate id) in id order, after pair ``after``.

    A page looks at ``window`` customers at most, so it may hold fewer than ``limit`` pairs;
    the next page then starts after ``scanned_to``.
    """
    first, second = after or (0, 0)
    window = window or WINDOW
    rows = await fetch(
        f"{SCORED_PAIRS} ORDER BY a.id, b.id LIMIT $6",
        [org_id, first, second, min_score, window, limit],
    )
    matches = [_match(row["a_id"], row["b_id"], row) for row in rows]
    if len(rows) == limit:
        return PairPage(matches, None)  # full: the next page starts after its last pair
    last = await fetch_one(
        "SELECT max(id) AS id, count(*) AS n FROM (SELECT id FROM customer"
        " WHERE organization_id = $1 AND deleted_at IS NULL AND id >= $2"
        " ORDER BY id LIMIT $3) w", [org_id, first, window],
    )
    full = last is not None and last["n"] == window
    return PairPage(matches, last["id"] if full and last else None)


async def count_pairs(*, org_id: int, min_score: float) -> int:
    """How many likely duplicate pairs the organization has (probes every customer: slow)."""
    row = await fetch_one(
        f"SELECT count(*) AS n FROM ({SCORED_PAIRS}) x", [org_id, 0, 0, min_score, None]
    )
    return int(row["n"]) if row else 0
