"""The model registry: versions per kind, one active version per kind and organization."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient

from db.sql import fetch

MODEL_COLUMNS = (
    "id, organization_id, training_run_id, kind, version, active, activated, note, as_of,"
    " horizon_days, backtest, train_from, train_to, validation_from, validation_to,"
    " train_samples, validation_samples, features, metrics, checksum, trained_at"
)
SCORING_KINDS = ("CHURN", "REVENUE", "SEGMENTS")


@dataclass
class NewModel:
    """A trained model to register; ``artifact`` only when it beat its baseline."""

    kind: str
    activated: bool
    note: str
    metrics: dict[str, Any]
    features: Sequence[str]
    train_samples: int
    validation_samples: int
    train_window: tuple[datetime, datetime] | None
    validation_window: tuple[datetime, datetime] | None
    artifact: bytes | None
    checksum: str | None


async def list_models(
    *, org_id: int, kinds: Sequence[str] | None = None, active_only: bool = False,
    with_artifact: bool = False, using: BaseDBAsyncClient | None = None,
) -> list[dict[str, Any]]:
    """The organization's models, newest version first within each kind."""
    conditions = ["organization_id = $1"]
    params: list[Any] = [org_id]
    if kinds is not None:
        params.append(list(kinds))
        conditions.append(f"kind = ANY(${len(params)}::text[])")
    if active_only:
        conditions.append("active")
    artifact = ", artifact" if with_artifact else ""
    return await fetch(
        f"SELECT {MODEL_COLUMNS}{artifact} FROM prediction_model WHERE {' AND '.join(conditions)}"
        " ORDER BY kind, version DESC", params, using,
    )


async def active_models(
    *, org_id: int, kinds: Sequence[str] = SCORING_KINDS, using: BaseDBAsyncClient | None = None
) -> dict[str, dict[str, Any]]:
    """The active model of each kind, with its artifact, keyed by kind."""
    rows = await list_models(
        org_id=org_id, kinds=kinds, active_only=True, with_artifact=True, using=using
    )
    return {row["kind"]: row for row in rows}


def version_label(active: dict[str, dict[str, Any]]) -> str:
    """Which model versions produced a prediction, e.g. ``churn v3, segments v1``."""
    return ", ".join(
        f"{kind.lower()} v{active[kind]['version']}" for kind in SCORING_KINDS if kind in active
    ) or "none"


async def publish(
    models: Sequence[NewModel], *, org_id: int, run_id: int, as_of: datetime,
    horizon_days: int, backtest: bool, keep: Sequence[str], using: BaseDBAsyncClient,
) -> dict[str, dict[str, Any]]:
    """Register a run's models and make the activated ones active; earlier active versions stay
    active only for the kinds in ``keep``. Returns the active set afterwards (by kind)."""
    await fetch(
        "UPDATE prediction_model SET active = false WHERE organization_id = $1 AND active"
        " AND definition_id IS NULL AND NOT (kind = ANY($2::text[]))", [org_id, list(keep)],
        using,
    )
    for model in models:
        train = model.train_window or (None, None)
        validation = model.validation_window or (None, None)
        await fetch(
            "INSERT INTO prediction_model (organization_id, training_run_id, kind, version, active,"
            " activated, note, as_of, horizon_days, backtest, train_from, train_to,"
            " validation_from, validation_to, train_samples, validation_samples, features,"
            " metrics, artifact, checksum, trained_at)"
            " SELECT $1, $2, $3::varchar, coalesce(max(version), 0) + 1, $4, $4, $5, $6, $7,"
            " $8, $9, $10, $11, $12, $13, $14, $15::jsonb, $16::jsonb, $17, $18, now()"
            " FROM prediction_model WHERE organization_id = $1 AND kind = $3::varchar",
            [org_id, run_id, model.kind, model.activated, model.note, as_of, horizon_days,
             backtest, *train, *validation, model.train_samples, model.validation_samples,
             orjson.dumps(list(model.features)).decode(), orjson.dumps(model.metrics).decode(),
             model.artifact, model.checksum],
            using,
        )
    return await active_models(
        org_id=org_id, kinds=(*SCORING_KINDS, "FORECAST"), using=using
    )


async def organizations_with_live_models() -> list[int]:
    """Organizations with an active scoring model that is not a backtest."""
    rows = await fetch(
        "SELECT DISTINCT organization_id FROM prediction_model WHERE active AND NOT backtest"
        " AND kind = ANY($1::text[]) ORDER BY organization_id", [list(SCORING_KINDS)],
    )
    return [row["organization_id"] for row in rows]
