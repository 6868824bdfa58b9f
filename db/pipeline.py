"""Pipelines and their ordered stages; removing a stage moves its deals to a named one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import validation
from db.sql import fetch, fetch_one, violated_constraint

COLUMNS = "t.id, t.organization_id, t.name, t.is_default, t.created_at, t.updated_at"
STAGE_COLUMNS = "s.id, s.organization_id, s.pipeline_id, s.name, s.position, s.probability"
MAX_STAGES = 30


@dataclass(frozen=True)
class StageSpec:
    """A stage as an ADMIN lists it: an existing one by id, or a new one."""

    id: int | None
    name: str | None
    probability: int | None


async def list_(*, org_id: int) -> list[dict[str, Any]]:
    """The organization's pipelines, the default first."""
    return await fetch(
        f"SELECT {COLUMNS} FROM pipeline t WHERE t.organization_id = $1"
        " ORDER BY t.is_default DESC, lower(t.name), t.id", [org_id],
    )


async def get_many(*, org_id: int, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Pipelines by id."""
    rows = await fetch(
        f"SELECT {COLUMNS} FROM pipeline t WHERE t.organization_id = $1"
        " AND t.id = ANY($2::bigint[])", [org_id, list(ids)],
    )
    return {row["id"]: row for row in rows}


async def stages_of(*, pipeline_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The stages of many pipelines in order, keyed by pipeline id."""
    rows = await fetch(
        f"SELECT {STAGE_COLUMNS} FROM pipeline_stage s WHERE s.pipeline_id = ANY($1::bigint[])"
        " ORDER BY s.pipeline_id, s.position, s.id", [list(pipeline_ids)],
    )
    found: dict[int, list[dict[str, Any]]] = {pk: [] for pk in pipeline_ids}
    for row in rows:
        found[row["pipeline_id"]].append(row)
    return found


async def get_stages(*, org_id: int, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Stages by id."""
    rows = await fetch(
        f"SELECT {STAGE_COLUMNS} FROM pipeline_stage s WHERE s.organization_id = $1"
        " AND s.id = ANY($2::bigint[])", [org_id, list(ids)],
    )
    return {row["id"]: row for row in rows}


async def default_id(org_id: int, using: BaseDBAsyncClient | None = None) -> int | None:
    """The organization's default pipeline."""
    row = await fetch_one(
        "SELECT id FROM pipeline WHERE organization_id = $1 AND is_default", [org_id], using
    )
    return row["id"] if row else None


def _clean_stages(specs: Sequence[StageSpec], known: dict[int, dict[str, Any]]) -> list[
    tuple[int | None, str, int]
]:
    c = validation.Cleaner()
    out: list[tuple[int | None, str, int]] = []
    if not specs:
        c.fail("stages", "a pipeline needs at least one stage")
    if len(specs) > MAX_STAGES:
        c.fail("stages", f"a pipeline has at most {MAX_STAGES} stages")
    names: set[str] = set()
    for i, spec in enumerate(specs):
        old = known.get(spec.id) if spec.id is not None else None
        if spec.id is not None and old is None:
            c.fail(f"stages.{i}.id", "stage not found in this pipeline", ErrorCode.NOT_FOUND)
            continue
        name = c.text(f"stages.{i}.name", spec.name if spec.name is not None
                      else (old or {}).get("name"), 100, required=True)
        probability = spec.probability if spec.probability is not None else (
            old["probability"] if old else None)
        if probability is None or not 0 <= probability <= 100:
            c.fail(f"stages.{i}.probability", "must be a percentage from 0 to 100")
            continue
        if name and name.casefold() in names:
            c.fail(f"stages.{i}.name", "another stage of the pipeline has this name")
        if name:
            names.add(name.casefold())
            out.append((spec.id, name, probability))
    c.raise_if_any()
    return out


def _duplicate_name(exc: IntegrityError) -> InputError:
    if violated_constraint(exc) != "pipeline_name_uniq":
        raise exc
    return InputError([FieldError(ErrorCode.DUPLICATE, ("input", "name"),
                                  "a pipeline with this name already exists")])


async def create(*, org_id: int, name: str | None, stages: Sequence[StageSpec]) -> dict[str, Any]:
    """A new (not default) pipeline with the given stages."""
    c = validation.Cleaner()
    clean_name = c.text("name", name, 100, required=True)
    c.raise_if_any()
    cleaned = _clean_stages(stages, {})
    try:
        async with in_transaction() as conn:
            row = await fetch_one(
                "INSERT INTO pipeline AS t (organization_id, name, is_default, created_at,"
                f" updated_at) VALUES ($1, $2, false, now(), now()) RETURNING {COLUMNS}",
                [org_id, clean_name], conn,
            )
            assert row is not None
            await _write_stages(conn, org_id, row["id"], cleaned)
    except IntegrityError as exc:
        raise _duplicate_name(exc) from None
    return row


async def _write_stages(
    conn: BaseDBAsyncClient, org_id: int, pipeline_id: int,
    stages: list[tuple[int | None, str, int]],
) -> None:
    for position, (stage_id, name, probability) in enumerate(stages, start=1):
        if stage_id is None:
            await fetch(
                "INSERT INTO pipeline_stage (organization_id, pipeline_id, name, position,"
                " probability) VALUES ($1, $2, $3, $4, $5)",
                [org_id, pipeline_id, name, position, probability], conn,
            )
        else:
            await fetch(
                "UPDATE pipeline_stage SET name = $2, position = $3, probability = $4"
                " WHERE id = $1", [stage_id, name, position, probability], conn,
            )


async def update(
    *, org_id: int, pipeline_id: int, user_id: int | None, name: str | None,
    stages: Sequence[StageSpec] | None, moves: dict[int, int],
) -> dict[str, Any] | None:
    """Rename a pipeline and set its stages in order; stages left out are removed, their deals
    moved (with history) to the stage ``moves`` names for them. None: no such pipeline."""
    async with in_transaction() as conn:
        row = await fetch_one(
            f"SELECT {COLUMNS} FROM pipeline t WHERE t.id = $1 AND t.organization_id = $2"
            " FOR UPDATE", [pipeline_id, org_id], conn,
        )
        if row is None:
            return None
        if name is not None:
            c = validation.Cleaner()
            new_name = c.text("name", name, 100, required=True)
            c.raise_if_any()
            try:
                async with in_transaction() as inner:
                    row = await fetch_one(
                        f"UPDATE pipeline t SET name = $2, updated_at = now() WHERE t.id = $1"
                        f" RETURNING {COLUMNS}", [pipeline_id, new_name], inner,
                    )
            except IntegrityError as exc:
                raise _duplicate_name(exc) from None
        if stages is not None:
            await _replace_stages(conn, org_id, pipeline_id, user_id, stages, moves)
    return row


async def _replace_stages(
    conn: BaseDBAsyncClient, org_id: int, pipeline_id: int, user_id: int | None,
    stages: Sequence[StageSpec], moves: dict[int, int],
) -> None:
    known = {r["id"]: r for r in await fetch(
        f"SELECT {STAGE_COLUMNS} FROM pipeline_stage s WHERE s.pipeline_id = $1 FOR UPDATE",
        [pipeline_id], conn,
    )}
    cleaned = _clean_stages(stages, known)
    kept = {stage_id for stage_id, _, _ in cleaned if stage_id is not None}
    removed = [stage_id for stage_id in known if stage_id not in kept]
    counts = {r["stage_id"]: r["n"] for r in await fetch(
        "SELECT stage_id, count(*) AS n FROM deal WHERE stage_id = ANY($1::bigint[])"
        " GROUP BY stage_id", [removed], conn,
    )}
    c = validation.Cleaner()
    for stage_id in removed:
        target = moves.get(stage_id)
        if counts.get(stage_id) and target is None:
            c.fail("moveDeals", f"stage {known[stage_id]['name']!r} has {counts[stage_id]}"
                   " deals: name the stage to move them to")
        elif target is not None and target not in kept:
            c.fail("moveDeals", "deals can only move to a stage the pipeline keeps",
                   ErrorCode.NOT_FOUND)
    c.raise_if_any()
    await _write_stages(conn, org_id, pipeline_id, cleaned)
    for stage_id in removed:
        if counts.get(stage_id):
            await move_all(conn, org_id, stage_id, moves[stage_id], user_id)
    await fetch("DELETE FROM pipeline_stage WHERE id = ANY($1::bigint[])", [removed], conn)


async def move_all(
    conn: BaseDBAsyncClient, org_id: int, from_id: int, to_id: int, user_id: int | None
) -> None:
    """Move every deal of one stage to another, recording each move in the history."""
    await fetch(
        "WITH moved AS (UPDATE deal d SET stage_id = $3, stage_entered_at = now(),"
        " updated_at = now() WHERE d.stage_id = $2 AND d.organization_id = $1 RETURNING d.id)"
        " INSERT INTO deal_stage_change (organization_id, deal_id, from_stage_id,"
        " from_stage_name, to_stage_id, to_stage_name, changed_by_id, changed_at)"
        " SELECT $1, m.id, $2, f.name, $3, t.name, $4, now() FROM moved m,"
        " pipeline_stage f, pipeline_stage t WHERE f.id = $2 AND t.id = $3",
        [org_id, from_id, to_id, user_id], conn,
    )
