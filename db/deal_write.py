"""Deal writes: create, update, move between stages (with history) and soft-delete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import custom_field_values as custom_values
from db import deal as deals
from db import pipeline as pipelines
from db import validation
from db.company import owner_exists
from db.custom_field import ObjectType
from db.sales_enums import DealStatus
from db.sql import Params, fetch, fetch_one, violated_constraint

MAX_PEOPLE = 50
EDITABLE = ("external_ref", "name", "amount", "currency", "probability", "expected_close_on",
            "owner_id", "company_id", "status", "lost_reason", "custom_fields")


def conflict(exc: IntegrityError, prefix: tuple[str, ...] = ("input",)) -> FieldError:
    """The field error of a database rule a deal write broke (validation foresees the others:
    this one is a concurrent writer's external reference)."""
    if violated_constraint(exc) == "deal_external_ref_uniq":
        return FieldError(ErrorCode.DUPLICATE, (*prefix, "externalRef"),
                          "a deal with this external reference exists")
    name = violated_constraint(exc)
    return FieldError(ErrorCode.BAD_USER_INPUT, prefix,
                      f"the database refused this deal ({name or 'a rule'})")


async def _live_ids(
    conn: BaseDBAsyncClient, table: str, org_id: int, ids: Sequence[int]
) -> set[int]:
    rows = await fetch(
        f"SELECT id FROM {table} WHERE organization_id = $1 AND id = ANY($2::bigint[])"
        " AND deleted_at IS NULL FOR SHARE", [org_id, list(ids)], conn,
    )
    return {row["id"] for row in rows}


async def _clean(
    conn: BaseDBAsyncClient, org_id: int, data: dict[str, Any], before: dict[str, Any] | None
) -> dict[str, Any]:
    c = validation.Cleaner()
    out: dict[str, Any] = {}
    if before is None or "name" in data:
        out["name"] = c.text("name", data.get("name"), 200, required=True)
    if "external_ref" in data:
        out["external_ref"] = c.text("externalRef", data["external_ref"], 100)
    if before is None or "amount" in data:
        out["amount"] = c.apply("amount", data.get("amount"), validation.amount)
    if data.get("currency") is not None:
        out["currency"] = c.apply("currency", data["currency"], validation.currency)
    if "probability" in data:
        if data["probability"] is not None and not 0 <= data["probability"] <= 100:
            c.fail("probability", "must be a percentage from 0 to 100")
        out["probability"] = data["probability"]
    if "expected_close_on" in data:
        out["expected_close_on"] = data["expected_close_on"]
    if "owner_id" in data:
        out["owner_id"] = data["owner_id"]
        if not await owner_exists(org_id, data["owner_id"]):
            c.fail("ownerId", "user not found", ErrorCode.NOT_FOUND)
    if data.get("company_id") is not None and not await _live_ids(
        conn, "company", org_id, [data["company_id"]]
    ):
        c.fail("companyId", "company not found", ErrorCode.NOT_FOUND)
    if "company_id" in data:
        out["company_id"] = data["company_id"]
    await _clean_custom_fields(c, org_id, data, before, out)
    if data.get("person_ids") is not None:
        wanted = list(dict.fromkeys(data["person_ids"]))
        if len(wanted) > MAX_PEOPLE:
            c.fail("personIds", f"a deal has at most {MAX_PEOPLE} people")
        elif set(wanted) - await _live_ids(conn, "customer", org_id, wanted):
            c.fail("personIds", "customer not found", ErrorCode.NOT_FOUND)
    _clean_status(c, data, before, out)
    c.raise_if_any()
    return out


async def _clean_custom_fields(
    c: validation.Cleaner, org_id: int, data: dict[str, Any], before: dict[str, Any] | None,
    out: dict[str, Any],
) -> None:
    """The deal's customFields checked against the organization's DEAL definitions."""
    given = None
    if "custom_fields" in data:
        given = c.apply("customFields", data["custom_fields"] or {}, validation.json_object)
    typed = await custom_values.clean_fields(
        c, org_id=org_id, object_type=ObjectType.DEAL, given=given, creating=before is None,
        object_id=before["id"] if before else None,
    )
    if typed is not None:
        out["custom_fields"] = typed


def _clean_status(
    c: validation.Cleaner, data: dict[str, Any], before: dict[str, Any] | None,
    out: dict[str, Any],
) -> None:
    status = data.get("status") or (before or {}).get("status") or DealStatus.OPEN
    reason = c.text("lostReason", data.get("lost_reason"), 500) if "lost_reason" in data else (
        (before or {}).get("lost_reason"))
    if status == DealStatus.LOST and not reason:
        c.fail("lostReason", "say why the deal was lost")
    if status != DealStatus.LOST and data.get("lost_reason"):
        c.fail("lostReason", "only a LOST deal has a lost reason")
    out["status"] = status
    out["lost_reason"] = reason if status == DealStatus.LOST else None
    if before is None or before["status"] != status:
        out["closed_at"] = None if status == DealStatus.OPEN else "now"


def _assignments(values: dict[str, Any], params: Params) -> str:
    return ", ".join(
        f"{key} = now()" if value == "now" and key == "closed_at"
        else f"{key} = {params.add(value)}" for key, value in values.items()
    )


async def _set_people(
    conn: BaseDBAsyncClient, org_id: int, deal_id: int, person_ids: Sequence[int]
) -> None:
    await fetch("DELETE FROM deal_person WHERE deal_id = $1", [deal_id], conn)
    await fetch(
        "INSERT INTO deal_person (organization_id, deal_id, customer_id)"
        " SELECT $1, $2, p FROM unnest($3::bigint[]) WITH ORDINALITY u(p, n) ORDER BY n",
        [org_id, deal_id, list(dict.fromkeys(person_ids))], conn,
    )


async def _record_move(
    conn: BaseDBAsyncClient, org_id: int, deal_id: int, from_id: int | None, to_id: int,
    user_id: int | None,
) -> None:
    await fetch(
        "INSERT INTO deal_stage_change (organization_id, deal_id, from_stage_id,"
        " from_stage_name, to_stage_id, to_stage_name, changed_by_id, changed_at)"
        " SELECT $1, $2, $3, (SELECT name FROM pipeline_stage WHERE id = $3), $4, s.name, $5,"
        " now() FROM pipeline_stage s WHERE s.id = $4",
        [org_id, deal_id, from_id, to_id, user_id], conn,
    )


async def _target_stage(
    conn: BaseDBAsyncClient, org_id: int, stage_id: int | None, pipeline_id: int | None
) -> dict[str, Any]:
    """The stage a new deal starts in: the given one, or the first of the (default) pipeline."""
    if stage_id is not None:
        row = await fetch_one(
            "SELECT id, pipeline_id FROM pipeline_stage WHERE id = $1 AND organization_id = $2",
            [stage_id, org_id], conn,
        )
        if row is None:
            raise InputError([FieldError(ErrorCode.NOT_FOUND, ("input", "stageId"),
                                         "stage not found")])
        if pipeline_id is not None and row["pipeline_id"] != pipeline_id:
            raise InputError([FieldError(ErrorCode.BAD_USER_INPUT, ("input", "stageId"),
                                         "the stage is not in the given pipeline")])
        return row
    pipeline_id = pipeline_id or await pipelines.default_id(org_id, conn)
    row = await fetch_one(
        "SELECT id, pipeline_id FROM pipeline_stage WHERE pipeline_id = $1"
        " AND organization_id = $2 ORDER BY position, id LIMIT 1", [pipeline_id, org_id], conn,
    )
    if row is None:
        raise InputError([FieldError(ErrorCode.NOT_FOUND, ("input", "pipelineId"),
                                     "pipeline not found")])
    return row


async def create(*, org_id: int, user_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """Insert a deal in its first (or given) stage; its history starts there."""
    try:
        return await _create(org_id, user_id, data)
    except IntegrityError as exc:
        raise InputError([conflict(exc)]) from None


async def _create(org_id: int, user_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    async with in_transaction() as conn:
        values = await _clean(conn, org_id, data, None)
        await custom_values.claim_unique(conn, object_type=ObjectType.DEAL, org_id=org_id,
                                         values=values.get("custom_fields"), object_id=None)
        stage = await _target_stage(conn, org_id, data.get("stage_id"), data.get("pipeline_id"))
        values.setdefault("currency", (await fetch_one(
            "SELECT currency FROM organization WHERE id = $1", [org_id], conn) or {})["currency"])
        values.pop("closed_at", None)
        params = Params()
        columns = ["organization_id", "pipeline_id", "stage_id", *values]
        placeholders = [params.add(org_id), params.add(stage["pipeline_id"]),
                        params.add(stage["id"]), *(params.add(v) for v in values.values())]
        closed = "now()" if values["status"] != DealStatus.OPEN else "NULL"
        row = await fetch_one(
            f"INSERT INTO deal ({', '.join(columns)}, closed_at, stage_entered_at, created_at,"
            f" updated_at) VALUES ({', '.join(placeholders)}, {closed}, now(), now(), now())"
            " RETURNING id", params.values, conn,
        )
        assert row is not None
        if data.get("person_ids"):
            await _set_people(conn, org_id, row["id"], data["person_ids"])
        await _record_move(conn, org_id, row["id"], None, stage["id"], user_id)
        created = await deals.get(org_id=org_id, deal_id=row["id"], using=conn)
    assert created is not None
    return created


async def _locked(conn: BaseDBAsyncClient, org_id: int, deal_id: int) -> dict[str, Any] | None:
    return await fetch_one(
        "SELECT * FROM deal WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL"
        " FOR UPDATE", [deal_id, org_id], conn,
    )


async def update(*, org_id: int, deal_id: int, data: dict[str, Any]) -> dict[str, Any] | None:
    """Change the given fields of a live deal; None if there is no such deal."""
    try:
        return await _update(org_id, deal_id, data)
    except IntegrityError as exc:
        raise InputError([conflict(exc)]) from None


async def _update(org_id: int, deal_id: int, data: dict[str, Any]) -> dict[str, Any] | None:
    async with in_transaction() as conn:
        before = await _locked(conn, org_id, deal_id)
        if before is None:
            return None
        values = await _clean(conn, org_id, data, before)
        await custom_values.claim_unique(conn, object_type=ObjectType.DEAL, org_id=org_id,
                                         values=values.get("custom_fields"), object_id=deal_id)
        params = Params()
        await fetch(
            f"UPDATE deal SET {_assignments(values, params)}, updated_at = now()"
            f" WHERE id = {params.add(deal_id)}", params.values, conn,
        )
        if data.get("person_ids") is not None:
            await _set_people(conn, org_id, deal_id, data["person_ids"])
        return await deals.get(org_id=org_id, deal_id=deal_id, using=conn)


async def move(
    *, org_id: int, deal_id: int, stage_id: int, user_id: int | None
) -> dict[str, Any] | None:
    """Put a deal in another stage (of any pipeline) and record it; None: no such deal."""
    async with in_transaction() as conn:
        before = await _locked(conn, org_id, deal_id)
        if before is None:
            return None
        stage = await _target_stage(conn, org_id, stage_id, None)
        if stage["id"] != before["stage_id"]:
            await fetch(
                "UPDATE deal SET stage_id = $2, pipeline_id = $3, stage_entered_at = now(),"
                " updated_at = now() WHERE id = $1", [deal_id, stage["id"],
                                                      stage["pipeline_id"]], conn,
            )
            await _record_move(conn, org_id, deal_id, before["stage_id"], stage["id"], user_id)
        return await deals.get(org_id=org_id, deal_id=deal_id, using=conn)


async def set_deleted(*, org_id: int, deal_id: int) -> dict[str, Any] | None:
    """Soft-delete a deal; None if there is no live one."""
    async with in_transaction() as conn:
        if await _locked(conn, org_id, deal_id) is None:
            return None
        await fetch("UPDATE deal SET deleted_at = now(), updated_at = now() WHERE id = $1",
                    [deal_id], conn)
        return await deals.get(org_id=org_id, deal_id=deal_id, using=conn, include_deleted=True)
