"""Custom prediction scores and the registry versions they come from.

A definition's trained versions are ``prediction_model`` rows of kind SCORE with its
``definition_id``; at most one is active. ``customer_score`` holds each customer's latest
probability per definition, with its band (the webhook triggers announce band crossings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient

from db.prediction_registry import MODEL_COLUMNS, NewModel
from db.sql import fetch, fetch_one

WRITE_BATCH = 5_000
BANDS = ((0.3, "LOW"), (0.6, "MEDIUM"), (float("inf"), "HIGH"))  # as crm_score_band in SQL
SCORE_COLUMNS = "s.customer_id, s.probability, s.band, s.reasons, s.model_version, s.scored_at"


def band(probability: float) -> str:
    """LOW, MEDIUM or HIGH."""
    return next(name for upper, name in BANDS if probability < upper)


async def active_model(*, definition_id: int, with_artifact: bool = True,
                       using: BaseDBAsyncClient | None = None) -> dict[str, Any] | None:
    """The definition's active version."""
    artifact = ", artifact" if with_artifact else ""
    return await fetch_one(
        f"SELECT {MODEL_COLUMNS}{artifact} FROM prediction_model WHERE definition_id = $1"
        " AND active", [definition_id], using,
    )


async def register(
    model: NewModel, *, org_id: int, definition_id: int, run_id: int | None, as_of: datetime,
    horizon_days: int, using: BaseDBAsyncClient,
) -> int:
    """Register a trained version (active when it beat the base rate, replacing the earlier
    active one); returns its version number."""
    if model.activated:
        await fetch("UPDATE prediction_model SET active = false WHERE definition_id = $1"
                    " AND active", [definition_id], using)
    train = model.train_window or (None, None)
    validation = model.validation_window or (None, None)
    row = await fetch_one(
        "INSERT INTO prediction_model (organization_id, training_run_id, kind, version, active,"
        " activated, note, as_of, horizon_days, backtest, train_from, train_to,"
        " validation_from, validation_to, train_samples, validation_samples, features,"
        " metrics, artifact, checksum, trained_at, definition_id)"
        " SELECT $1, $2, 'SCORE', coalesce(max(version), 0) + 1, $3, $3, $4, $5, $6, false,"
        " $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15, $16, now(), $17"
        " FROM prediction_model WHERE organization_id = $1 AND kind = 'SCORE'"
        " AND definition_id = $17 RETURNING version",
        [org_id, run_id, model.activated, model.note, as_of, horizon_days, *train, *validation,
         model.train_samples, model.validation_samples,
         orjson.dumps(list(model.features)).decode(), orjson.dumps(model.metrics).decode(),
         model.artifact, model.checksum, definition_id],
        using,
    )
    assert row is not None
    return int(row["version"])


@dataclass
class ScoreBatch:
    """Probabilities and reasons of some customers for one definition."""

    customer_ids: list[int]
    probabilities: list[float]
    reasons: list[list[dict[str, Any]]]


async def write(
    batch: ScoreBatch, *, org_id: int, definition_id: int, model_version: int,
    scored_at: datetime, using: BaseDBAsyncClient | None = None,
) -> None:
    """Upsert a batch of scores (one statement per ``WRITE_BATCH`` rows)."""
    for start in range(0, len(batch.customer_ids), WRITE_BATCH):
        part = slice(start, start + WRITE_BATCH)
        probabilities = batch.probabilities[part]
        await fetch(
            "INSERT INTO customer_score (customer_id, definition_id, organization_id,"
            " probability, band, reasons, model_version, scored_at)"
            " SELECT u.c, $1, $2, u.p, u.b, u.r, $7, $8 FROM unnest($3::bigint[],"
            " $4::float8[], $5::text[], $6::text[]::jsonb[]) AS u(c, p, b, r)"
            " ON CONFLICT (customer_id, definition_id) DO UPDATE SET"
            " probability = excluded.probability, band = excluded.band,"
            " reasons = excluded.reasons, model_version = excluded.model_version,"
            " scored_at = excluded.scored_at",
            [definition_id, org_id, batch.customer_ids[part], probabilities,
             [band(p) for p in probabilities],
             [orjson.dumps(r).decode() for r in batch.reasons[part]], model_version, scored_at],
            using,
        )


async def drop_older(*, definition_id: int, scored_before: datetime,
                     using: BaseDBAsyncClient | None = None) -> None:
    """Remove the definition's scores a complete scoring pass did not renew."""
    await fetch("DELETE FROM customer_score WHERE definition_id = $1 AND scored_at < $2",
                [definition_id, scored_before], using)


async def drop_all(*, definition_id: int, using: BaseDBAsyncClient | None = None) -> None:
    """Remove every score of the definition (it has no active model any more)."""
    await fetch("DELETE FROM customer_score WHERE definition_id = $1", [definition_id], using)


async def for_customers(
    *, org_id: int, customer_ids: Sequence[int], names: Sequence[str] | None = None
) -> dict[int, list[dict[str, Any]]]:
    """Each customer's scores (by prediction name), keyed by customer id."""
    rows = await fetch(
        f"SELECT {SCORE_COLUMNS}, d.name FROM customer_score s"
        " JOIN prediction_definition d ON d.id = s.definition_id"
        " WHERE s.organization_id = $1 AND s.customer_id = ANY($2::bigint[])"
        " AND ($3::text[] IS NULL OR d.name = ANY($3::text[])) ORDER BY s.customer_id, d.name",
        [org_id, list(customer_ids), None if names is None else list(names)],
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["customer_id"], []).append(row)
    return out
