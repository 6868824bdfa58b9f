"""Prediction data: training runs and predictions (batched reads and writes).

Histories for training are read by ``ml.history``.

The model registry (versions, activation, artifacts) lives in ``db.prediction_registry``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db.prediction_models import RunStatus
from db.sql import fetch, fetch_one, violated_constraint

WRITE_BATCH = 5_000
STALE_RUN = timedelta(hours=1)  # an in-flight run silent this long died with its process
RUN_COLUMNS = (
    "id, organization_id, requested_by_id, status, progress, stage, as_of, horizon_days,"
    " backtest, results, error, created_at, started_at, finished_at, updated_at"
)
PREDICTION_COLUMNS = (
    "customer_id, churn_risk, expected_revenue, expected_orders, segment, reasons,"
    " model_version, as_of, horizon_days, scored_at"
)


# --- organization --------------------------------------------------------------------------


async def org_currency(org_id: int) -> str:
    """The organization's currency: money in other currencies is left out of revenue."""
    row = await fetch_one("SELECT currency FROM organization WHERE id = $1", [org_id])
    return str(row["currency"]) if row else "USD"


# --- training runs -----------------------------------------------------------------------


async def start_run(
    *, org_id: int, user_id: int | None, as_of: datetime, horizon_days: int, backtest: bool
) -> tuple[dict[str, Any], bool]:
    """A new PENDING run, or (False) the organization's run already in flight."""
    await fetch(
        "UPDATE training_run SET status = 'FAILED', error = 'interrupted: its worker stopped',"
        " finished_at = now() WHERE organization_id = $1 AND status IN ('PENDING', 'RUNNING')"
        " AND updated_at < $2", [org_id, datetime.now(UTC) - STALE_RUN],
    )
    try:
        # a savepoint: the conflict must not abort the caller's transaction (the audited one)
        async with in_transaction() as conn:
            row = await fetch_one(
                "INSERT INTO training_run (organization_id, requested_by_id, status, progress,"
                " stage, as_of, horizon_days, backtest, results, created_at, updated_at)"
                " VALUES ($1, $2, 'PENDING', 0, 'queued', $3, $4, $5, '[]', now(), now())"
                f" RETURNING {RUN_COLUMNS}", [org_id, user_id, as_of, horizon_days, backtest],
                conn,
            )
    except IntegrityError as exc:
        if violated_constraint(exc) != "training_run_in_flight_uniq":
            raise
        existing = await fetch_one(
            f"SELECT {RUN_COLUMNS} FROM training_run WHERE organization_id = $1"
            " AND status IN ('PENDING', 'RUNNING')", [org_id],
        )
        if existing is None:  # it finished in between: try once more
            return await start_run(org_id=org_id, user_id=user_id, as_of=as_of,
                                   horizon_days=horizon_days, backtest=backtest)
        return existing, False
    assert row is not None
    return row, True


async def get_run(*, run_id: int, org_id: int | None = None) -> dict[str, Any] | None:
    """A training run (of the organization, when given)."""
    org = "" if org_id is None else " AND organization_id = $2"
    return await fetch_one(
        f"SELECT {RUN_COLUMNS} FROM training_run WHERE id = $1{org}",
        [run_id] if org_id is None else [run_id, org_id],
    )


async def latest_run(*, org_id: int) -> dict[str, Any] | None:
    """The organization's most recent training run."""
    return await fetch_one(
        f"SELECT {RUN_COLUMNS} FROM training_run WHERE organization_id = $1"
        " ORDER BY created_at DESC, id DESC LIMIT 1", [org_id],
    )


async def claim_run(run_id: int) -> dict[str, Any] | None:
    """Mark a PENDING run RUNNING (None if it is not pending any more)."""
    return await fetch_one(
        "UPDATE training_run SET status = 'RUNNING', started_at = now(), updated_at = now(),"
        f" stage = 'loading history' WHERE id = $1 AND status = 'PENDING' RETURNING {RUN_COLUMNS}",
        [run_id],
    )


async def report_progress(run_id: int, progress: float, stage: str) -> None:
    """Record how far a running run is."""
    await fetch(
        "UPDATE training_run SET progress = $2, stage = $3, updated_at = now()"
        " WHERE id = $1 AND status = 'RUNNING'", [run_id, min(max(progress, 0.0), 1.0), stage],
    )


async def finish_run(
    run_id: int, status: RunStatus, *, results: list[dict[str, Any]] | None = None,
    error: str | None = None, using: BaseDBAsyncClient | None = None,
) -> None:
    """Close a run as SUCCEEDED or FAILED."""
    await fetch(
        "UPDATE training_run SET status = $2, results = $3::jsonb, error = $4, progress = $5,"
        " stage = $6, finished_at = now(), updated_at = now()"
        " WHERE id = $1 AND status IN ('PENDING', 'RUNNING')",
        [run_id, status.value, orjson.dumps(results or []).decode(), error,
         1.0 if status == RunStatus.SUCCEEDED else 0.0, status.value.lower()],
        using,
    )


# --- predictions -------------------------------------------------------------------------


@dataclass
class ScoreRows:
    """Scores ready to write: one entry per customer, None where no model is active."""

    customer_ids: list[int]
    churn: list[float | None]
    revenue: list[float | None]
    orders: list[float | None]
    segments: list[str | None]
    reasons: list[list[dict[str, Any]]]


async def write_predictions(
    rows: ScoreRows, *, org_id: int, model_version: str, as_of: datetime, horizon_days: int,
    replace_all: bool, using: BaseDBAsyncClient,
) -> None:
    """Upsert scores in batches (one statement per batch); ``replace_all`` drops other rows."""
    now = datetime.now(UTC)
    if replace_all:
        await fetch("DELETE FROM prediction WHERE organization_id = $1", [org_id], using)
    for start in range(0, len(rows.customer_ids), WRITE_BATCH):
        part = slice(start, start + WRITE_BATCH)
        await fetch(
            f"INSERT INTO prediction (organization_id, {PREDICTION_COLUMNS})"
            " SELECT $1, u.* , $8, $9, $10, $11 FROM unnest($2::bigint[], $3::float8[],"
            " $4::float8[], $5::float8[], $6::text[], $7::text[]::jsonb[]) AS u"
            " ON CONFLICT (customer_id) DO UPDATE SET churn_risk = excluded.churn_risk,"
            " expected_revenue = excluded.expected_revenue,"
            " expected_orders = excluded.expected_orders, segment = excluded.segment,"
            " reasons = excluded.reasons, model_version = excluded.model_version,"
            " as_of = excluded.as_of, horizon_days = excluded.horizon_days,"
            " scored_at = excluded.scored_at",
            [org_id, rows.customer_ids[part], rows.churn[part], rows.revenue[part],
             rows.orders[part], rows.segments[part],
             [orjson.dumps(r).decode() for r in rows.reasons[part]],
             model_version, as_of, horizon_days, now],
            using,
        )


async def get_many(*, org_id: int, customer_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Predictions of these customers of the organization, keyed by customer id."""
    rows = await fetch(
        f"SELECT {PREDICTION_COLUMNS}, (SELECT currency FROM organization WHERE id = $1)"
        " AS currency FROM prediction WHERE organization_id = $1"
        " AND customer_id = ANY($2::bigint[])",
        [org_id, list(customer_ids)],
    )
    return {row["customer_id"]: row for row in rows}


async def segment_sizes(*, org_id: int) -> dict[str, int]:
    """How many live customers each segment holds now."""
    rows = await fetch(
        "SELECT p.segment, count(*) AS n FROM prediction p"
        " JOIN customer c ON c.id = p.customer_id AND c.deleted_at IS NULL"
        " WHERE p.organization_id = $1 AND p.segment IS NOT NULL GROUP BY p.segment", [org_id],
    )
    return {row["segment"]: int(row["n"]) for row in rows}


async def stale_customers(*, org_id: int, max_age: timedelta, limit: int) -> list[int]:
    """Live customers never scored, changed since scored, or scored longer than ``max_age`` ago."""
    rows = await fetch(
        "SELECT c.id FROM customer c LEFT JOIN prediction p ON p.customer_id = c.id"
        " WHERE c.organization_id = $1 AND c.deleted_at IS NULL AND (p.id IS NULL"
        " OR p.scored_at < $2 OR c.updated_at > p.scored_at"
        " OR EXISTS (SELECT 1 FROM customer_order o WHERE o.customer_id = c.id"
        "   AND o.updated_at > p.scored_at)"
        " OR EXISTS (SELECT 1 FROM interaction i WHERE i.customer_id = c.id"
        "   AND i.created_at > p.scored_at)) ORDER BY c.id LIMIT $3",
        [org_id, datetime.now(UTC) - max_age, limit],
    )
    return [row["id"] for row in rows]


async def organizations_due_for_training(
    *, trained_before: datetime, among: Sequence[int] | None = None
) -> list[int]:
    """Organizations (``among`` these, if given) with PAID orders whose latest live (not
    backtest) run started before ``trained_before``, or that never had one; none with a run
    in flight."""
    rows = await fetch(
        "SELECT o.id FROM organization o"
        " WHERE ($2::bigint[] IS NULL OR o.id = ANY($2::bigint[]))"
        " AND EXISTS (SELECT 1 FROM customer_order c WHERE c.organization_id = o.id"
        "   AND c.status = 'PAID')"
        " AND NOT EXISTS (SELECT 1 FROM training_run r WHERE r.organization_id = o.id"
        "   AND (r.status IN ('PENDING', 'RUNNING')"
        "        OR (NOT r.backtest AND r.created_at >= $1)))"
        " ORDER BY o.id", [trained_before, None if among is None else list(among)],
    )
    return [row["id"] for row in rows]
