"""Recommendation lists as the active recommender wrote them, read in one statement per page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.product import COLUMNS as PRODUCT_COLUMNS
from db.sql import fetch

PER_CUSTOMER = 30  # stored per customer; the API filters and cuts these
PER_SEGMENT = 30
NEIGHBOURS = 10
WRITE_BATCH = 60_000  # rows per INSERT statement


@dataclass(frozen=True)
class Lists:
    """What a training run computed, as columns of ids (all of one organization)."""

    customer_ids: Sequence[int]
    ranks: Sequence[int]
    product_ids: Sequence[int]
    scores: Sequence[float]
    kinds: Sequence[str]
    basis_ids: Sequence[int | None]
    purchased: Sequence[bool]
    popular: Sequence[tuple[str, int, int, float]]  # segment, rank, product id, score
    neighbours: Sequence[tuple[int, int, int, float]]  # product, rank, neighbour, similarity


async def replace(*, org_id: int, lists: Lists, using: BaseDBAsyncClient) -> None:
    """Swap the organization's lists for these, in the caller's transaction."""
    for table in ("recommendation", "recommendation_popular", "product_neighbour"):
        await fetch(f"DELETE FROM {table} WHERE organization_id = $1", [org_id], using)
    columns = (lists.customer_ids, lists.ranks, lists.product_ids, lists.scores, lists.kinds,
               lists.basis_ids, lists.purchased)
    # a statement per batch: millions of rows in one would outlast the statement timeout
    for start in range(0, len(lists.customer_ids), WRITE_BATCH):
        await fetch(
            "INSERT INTO recommendation (organization_id, customer_id, rank, product_id, score,"
            " kind, basis_product_id, purchased)"
            " SELECT $1, r.c, r.k, r.p, r.s, r.kind, r.b, r.bought FROM unnest($2::bigint[],"
            " $3::smallint[], $4::bigint[], $5::float8[], $6::text[], $7::bigint[], $8::bool[])"
            " AS r(c, k, p, s, kind, b, bought)"
            # customers erased or merged away while training ran have no list to keep
            " WHERE EXISTS (SELECT 1 FROM customer c WHERE c.id = r.c AND c.organization_id"
            " = $1)",
            [org_id, *(list(column[start:start + WRITE_BATCH]) for column in columns)], using,
        )
    if lists.popular:
        segment, rank, product, score = zip(*lists.popular, strict=True)
        await fetch(
            "INSERT INTO recommendation_popular (organization_id, segment, rank, product_id,"
            " score) SELECT $1, * FROM unnest($2::text[], $3::smallint[], $4::bigint[],"
            " $5::float8[])", [org_id, list(segment), list(rank), list(product), list(score)],
            using,
        )
    if lists.neighbours:
        product, rank, neighbour, similarity = zip(*lists.neighbours, strict=True)
        await fetch(
            "INSERT INTO product_neighbour (organization_id, product_id, rank, neighbour_id,"
            " similarity) SELECT $1, * FROM unnest($2::bigint[], $3::smallint[],"
            " $4::bigint[], $5::float8[])",
            [org_id, list(product), list(rank), list(neighbour), list(similarity)], using,
        )


_PRODUCT = PRODUCT_COLUMNS.replace("t.", "p.")


async def for_customers(*, org_id: int, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Each customer's stored list, best first, with its products (live or not) inline; a
    customer without one gets the popular list of its segment (or everyone's)."""
    rows = await fetch(
        f"SELECT c.id AS customer_id, x.rank, x.score, x.kind, x.basis_product_id,"
        f" x.purchased, b.name AS basis_name, {_PRODUCT}"
        # the organization's customers only; a list then belongs to its customer's organization
        # (no organization filter inside: with one, the planner ANDs the organization's whole
        # index into every customer's lookup)
        " FROM unnest($2::bigint[]) AS c(id)"
        " JOIN customer o ON o.id = c.id AND o.organization_id = $1"
        " LEFT JOIN prediction s ON s.customer_id = c.id AND s.organization_id = $1"
        " CROSS JOIN LATERAL ("
        "   SELECT r.rank, r.product_id, r.score, r.kind, r.basis_product_id, r.purchased"
        "   FROM recommendation r WHERE r.customer_id = c.id"
        "   UNION ALL"
        "   SELECT q.rank, q.product_id, q.score, CASE WHEN q.segment = '' THEN 'POPULAR'"
        "     ELSE 'POPULAR_IN_SEGMENT' END, NULL, false"
        "   FROM recommendation_popular q WHERE q.organization_id = $1"
        "   AND NOT EXISTS (SELECT 1 FROM recommendation r WHERE r.customer_id = c.id)"
        "   AND q.segment = CASE WHEN EXISTS (SELECT 1 FROM recommendation_popular z"
        "     WHERE z.organization_id = $1 AND z.segment = coalesce(s.segment, ''))"
        "     THEN coalesce(s.segment, '') ELSE '' END"
        " ) x JOIN product p ON p.id = x.product_id"
        " LEFT JOIN product b ON b.id = x.basis_product_id"
        " ORDER BY c.id, x.rank",
        [org_id, list(ids)],
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["customer_id"], []).append(row)
    return out


async def neighbours(*, org_id: int, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Each product's nearest neighbours ("bought together"), closest first."""
    rows = await fetch(
        f"SELECT n.product_id AS of_product, n.similarity, {_PRODUCT} FROM product_neighbour n"
        " JOIN product p ON p.id = n.neighbour_id"
        " WHERE n.organization_id = $1 AND n.product_id = ANY($2::bigint[])"
        " ORDER BY n.product_id, n.rank", [org_id, list(ids)],
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["of_product"], []).append(row)
    return out


async def refresh_statistics() -> None:
    """Re-sample the lists' planner statistics after a training rewrote them in bulk (stale
    ones make a customer's lookup scan the whole organization's lists)."""
    await fetch("ANALYZE recommendation, recommendation_popular, product_neighbour")
