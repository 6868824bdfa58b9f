"""Recommendation lists as the active recommender wrote them, read in one statement per page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tortoise.backends.base.client import BaseDBAsyncClient

from db.copy import ArrayColumn, copy_columns
from db.product import COLUMNS as PRODUCT_COLUMNS
from db.sql import fetch, fetch_one

PER_CUSTOMER = 30  # stored per customer; the API filters and cuts these
PER_SEGMENT = 30
NEIGHBOURS = 10


Column = Sequence[Any] | np.ndarray  # a numpy array or a list, one value per pick
KINDS = ("BOUGHT_WITH", "BUY_AGAIN", "POPULAR", "POPULAR_IN_SEGMENT")  # Picks.kinds codes


@dataclass(frozen=True)
class Picks:
    """Customers' lists as flat columns: customer by customer, best first within one."""

    customer_ids: Column
    product_ids: Column
    scores: Column
    kinds: Column  # indexes into KINDS
    basis_ids: Column  # the product it was bought with; -1 for none
    purchased: Column

    @classmethod
    def none(cls) -> Picks:
        return cls([], [], [], [], [], [])


@dataclass(frozen=True)
class Lists:
    """What a training run computed (all of one organization)."""

    picks: Picks
    popular: Sequence[tuple[str, int, int, float]]  # segment, rank, product id, score
    neighbours: Sequence[tuple[int, int, int, float]]  # product, rank, neighbour, similarity


async def replace(*, org_id: int, lists: Lists, using: BaseDBAsyncClient) -> None:
    """Swap the organization's lists for these, in the caller's transaction."""
    await clear(org_id=org_id, using=using)
    await add(org_id=org_id, lists=lists, using=using)


async def clear(*, org_id: int, using: BaseDBAsyncClient) -> None:
    """Drop the organization's lists (``add`` then writes new ones, a batch at a time)."""
    for table in ("recommendation_list", "recommendation_popular", "product_neighbour"):
        await fetch(f"DELETE FROM {table} WHERE organization_id = $1", [org_id], using)


async def add(*, org_id: int, lists: Lists, using: BaseDBAsyncClient) -> None:
    """Write these lists (after ``clear``), in the caller's transaction."""
    picks = lists.picks
    customers = np.asarray(picks.customer_ids, np.int64)
    if len(customers):
        # picks come customer by customer: one row per customer, its picks as arrays, built
        # and sent by binary COPY (no Python work per pick, no grouping in PostgreSQL)
        starts = np.flatnonzero(np.r_[True, customers[1:] != customers[:-1]])
        counts = np.diff(np.r_[starts, len(customers)])
        ids = customers[starts]
        # customers erased or merged away while training ran have no list to keep; the
        # others stay (locked as the foreign key's check would) until the transaction ends
        kept = await fetch_one(
            "WITH live AS (SELECT id FROM customer WHERE organization_id = $1"
            " AND id = ANY($2::bigint[]) FOR KEY SHARE) SELECT array_agg(id) AS ids FROM live",
            [org_id, ids.tolist()], using)
        keep = np.isin(ids, np.asarray((kept or {}).get("ids") or [], np.int64))
        mine = np.repeat(keep, counts)
        counts = counts[keep]
        basis = np.asarray(picks.basis_ids, np.int64)[mine]
        await copy_columns("recommendation_list", (
            "customer_id", "organization_id", "product_ids", "scores", "kinds",
            "basis_product_ids", "purchased"), [
            ids[keep], np.full(len(counts), org_id, np.int64),
            ArrayColumn(np.asarray(picks.product_ids, np.int64)[mine], counts),
            ArrayColumn(np.asarray(picks.scores, np.float64)[mine], counts),
            ArrayColumn(np.asarray(picks.kinds, np.int64)[mine], counts, words=KINDS),
            ArrayColumn(basis, counts, nulls=basis < 0),
            ArrayColumn(np.asarray(picks.purchased, np.bool_)[mine], counts),
        ], using)
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
# the product a pick was bought with, in the same row (``basis_`` before each column name)
_PRODUCT_NAMES = tuple(c.strip()[2:] for c in PRODUCT_COLUMNS.split(","))
_BASIS = ", ".join(f"b.{name} AS basis_{name}" for name in _PRODUCT_NAMES)


def basis_product(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The product row a pick of ``for_customers`` was bought with (None without one)."""
    if row["basis_product_id"] is None:
        return None
    return {name: row["basis_" + name] for name in _PRODUCT_NAMES}


async def for_customers(*, org_id: int, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Each customer's stored list, best first, with its products (live or not) and the
    products they were bought with (columns named ``basis_...``) inline; a customer without
    one gets the popular list of its segment (or everyone's)."""
    rows = await fetch(
        f"SELECT c.id AS customer_id, x.rank, x.score, x.kind, b.id AS basis_product_id,"
        f" x.purchased, {_BASIS}, {_PRODUCT}"
        # the organization's customers only; a list then belongs to its customer's organization
        # (no organization filter inside: with one, the planner ANDs the organization's whole
        # index into every customer's lookup)
        " FROM unnest($2::bigint[]) AS c(id)"
        " JOIN customer o ON o.id = c.id AND o.organization_id = $1"
        " LEFT JOIN prediction s ON s.customer_id = c.id AND s.organization_id = $1"
        " CROSS JOIN LATERAL ("
        "   SELECT (u.n - 1)::smallint AS rank, u.product_id, u.score, u.kind,"
        "   u.basis_product_id, u.purchased FROM recommendation_list r"
        "   CROSS JOIN LATERAL unnest(r.product_ids, r.scores, r.kinds, r.basis_product_ids,"
        "     r.purchased) WITH ORDINALITY"
        "     AS u(product_id, score, kind, basis_product_id, purchased, n)"
        "   WHERE r.customer_id = c.id"
        "   UNION ALL"
        "   SELECT q.rank, q.product_id, q.score, CASE WHEN q.segment = '' THEN 'POPULAR'"
        "     ELSE 'POPULAR_IN_SEGMENT' END, NULL, false"
        "   FROM recommendation_popular q WHERE q.organization_id = $1"
        "   AND NOT EXISTS (SELECT 1 FROM recommendation_list r WHERE r.customer_id = c.id)"
        "   AND q.segment = CASE WHEN EXISTS (SELECT 1 FROM recommendation_popular z"
        "     WHERE z.organization_id = $1 AND z.segment = coalesce(s.segment, ''))"
        "     THEN coalesce(s.segment, '') ELSE '' END"
        " ) x JOIN product p ON p.id = x.product_id"
        " LEFT JOIN product b ON b.id = x.basis_product_id AND b.organization_id = $1"
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
    await fetch("ANALYZE recommendation_list, recommendation_popular, product_neighbour")
