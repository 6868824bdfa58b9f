"""Machinery shared by bulk upserts: per-row plans, key checks and batched, row-isolated writes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import custom_field as custom_fields
from db import custom_field_values as custom_values
from db import validation
from db.sql import fetch, violated_constraint

MAX_ROWS = 1_000
# ids of the customers of organization $1 holding an external reference of $2 or an email of $3
# (lower-cased), for ``t.id = ANY(ARRAY(...))``: one unique-index probe per key, whatever the
# statistics say (a large first import leaves them stale, and a filtered scan then takes over)
HOLDERS = (
    "SELECT x.id FROM unnest($2::text[]) AS k(ref) CROSS JOIN LATERAL (SELECT c.id FROM customer c"
    " WHERE c.organization_id = $1 AND c.external_ref IS NOT NULL AND c.external_ref = k.ref"
    " LIMIT 1) x"
    " UNION SELECT x.id FROM unnest($3::text[]) AS k(email) CROSS JOIN LATERAL (SELECT c.id"
    " FROM customer c WHERE c.organization_id = $1 AND c.email IS NOT NULL"
    " AND lower(c.email) = k.email LIMIT 1) x"
)
Status = Literal["created", "updated", "unchanged", "failed"]


@dataclass
class RowResult:
    """What became of one input row: the stored row afterwards, or the errors that stopped it."""

    index: int
    status: Status
    row: dict[str, Any] | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class Plan:
    """One input row on its way to the database."""

    index: int
    key: str | None = None
    key_path: str = ""
    existing: dict[str, Any] | None = None
    values: dict[str, Any] = field(default_factory=dict)
    result: RowResult = field(init=False)

    def __post_init__(self) -> None:
        self.result = RowResult(self.index, "unchanged")

    @property
    def failed(self) -> bool:
        return self.result.status == "failed"

    def fail(self, errors: Iterable[FieldError]) -> None:
        self.result = RowResult(self.index, "failed", errors=list(errors))

    def error(self, code: ErrorCode, field_path: str, message: str) -> None:
        """Fail the row with one error on ``field_path`` (dotted, as in the API)."""
        self.fail([FieldError(code, row_path(self.index, field_path), message)])


@dataclass(frozen=True)
class Table:
    """Where a domain's rows live and what an upsert may write."""

    name: str
    columns: str
    writable: tuple[str, ...]
    defaults: Mapping[str, Any]
    unique: Mapping[str, tuple[str, str]]


def row_path(index: int, dotted: str = "") -> tuple[str, ...]:
    """The error path of a field of row ``index``, e.g. ``("rows", "3", "email")``."""
    return ("rows", str(index), *(dotted.split(".") if dotted else ()))


def rebase(index: int, errors: Iterable[FieldError]) -> list[FieldError]:
    """Errors of a single-input cleaner (``("input", ...)``) as errors of row ``index``."""
    return [FieldError(e.code, ("rows", str(index), *e.field[1:]), e.message) for e in errors]


def normalized_key(key_field: str, raw: Any) -> tuple[str | None, list[FieldError]]:
    """A key value as the cleaners store it (emails lower-cased for matching), or its errors."""
    c = validation.Cleaner()
    if key_field == "email":
        value = c.apply("email", raw, validation.email)
        return (value.lower() if value else None), c.errors
    return c.text("externalRef", raw, 100), c.errors


def check_size(rows: Sequence[Any]) -> None:
    """Refuse calls with too many rows before anything is read or written."""
    if len(rows) > MAX_ROWS:
        raise InputError([FieldError(
            ErrorCode.BAD_USER_INPUT, ("rows",),
            f"at most {MAX_ROWS} rows per call, got {len(rows)}",
        )])


def reject_repeated_keys(plans: Iterable[Plan]) -> None:
    """Fail every row whose key an earlier row of the batch already has."""
    first: dict[str, int] = {}
    for plan in plans:
        if plan.failed or plan.key is None:
            continue
        earlier = first.setdefault(plan.key, plan.index)
        if earlier != plan.index:
            plan.error(ErrorCode.DUPLICATE, plan.key_path, f"repeats the key of row {earlier}")


async def claim_unique_values(
    conn: BaseDBAsyncClient, org_id: int, object_type: custom_fields.ObjectType,
    plans: Iterable[Plan],
) -> None:
    """Inside the batch's transaction, just before it is written: fail a row taking a value of
    a unique custom field that an earlier row of the batch takes too, then hold every value
    the batch takes (the advisory locks single writes hold, in their order: field, then value)
    and check again that no other live record took it meanwhile. Each row was checked against
    the stored records alone; a concurrent writer of the same value had passed that check too.
    Now the later one waits for the earlier to commit and sees its record: its row fails
    (DUPLICATE), the batch's other rows are written."""
    unique = sorted((d for d in (await custom_fields.by_key(
        org_id=org_id, object_type=object_type)).values() if d["is_unique"]),
        key=lambda d: d["key"])
    # (key, value as JSON) -> the first row taking it, and the value
    claimed: dict[tuple[str, str], tuple[Plan, Any]] = {}
    for plan in plans:
        if plan.result.status not in ("created", "updated") or "custom_fields" not in plan.values:
            continue
        values = plan.values.get("custom_fields") or {}
        for d in unique:
            value = values.get(d["key"])
            if value is None:
                continue
            first, _ = claimed.setdefault((d["key"], orjson.dumps(value).decode()),
                                          (plan, value))
            if first is not plan:
                plan.error(ErrorCode.DUPLICATE, f"customFields.{d['key']}",
                           custom_values.taken_message(d))
                break
    held = [(key, *claimed[(key, text)]) for key, text in sorted(claimed)
            if not claimed[(key, text)][0].failed]
    if not held:
        return
    await fetch(
        "SELECT pg_advisory_xact_lock(hashtextextended(name, 0))"
        " FROM unnest($1::text[]) WITH ORDINALITY AS held(name, n) ORDER BY n",
        [[custom_values.lock_name(org_id, object_type, key, value)
          for key, _, value in held]], conn,
    )
    definitions = {d["key"]: d for d in unique}
    for key, plan, value in held:
        if not plan.failed and await custom_values.taken(
            table=object_type.value.lower(), org_id=org_id, key=key, value=value,
            except_id=plan.existing["id"] if plan.existing else None, using=conn,
        ):
            plan.error(ErrorCode.DUPLICATE, f"customFields.{key}",
                       custom_values.taken_message(definitions[key]))


def differing(row: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
    """The fields of ``row`` that differ from the stored row: only those need cleaning.

    Stored values written before today's rules (or by the seeder) then survive a round trip.
    """
    if existing is None:
        return row
    return {k: v for k, v in row.items() if k not in existing or existing[k] != v}


def settle(plan: Plan) -> None:
    """Decide between create, update and unchanged from the cleaned values and the stored row."""
    if plan.existing is None:
        plan.result = RowResult(plan.index, "created")
        return
    changed = any(plan.existing.get(k) != v for k, v in plan.values.items())
    plan.result = RowResult(plan.index, "updated" if changed else "unchanged", plan.existing)


async def write(conn: BaseDBAsyncClient, table: Table, org_id: int, plans: list[Plan]) -> None:
    """Write created and updated rows in bulk; after a unique conflict, row by row instead."""
    pending = [p for p in plans if p.result.status in ("created", "updated")]
    if not pending:
        return
    await _assign_ids(conn, table, [p for p in pending if p.existing is None])
    try:
        async with in_transaction() as savepoint:
            await _store(savepoint, table, org_id, pending)
    except IntegrityError:
        for plan in pending:
            try:
                async with in_transaction() as savepoint:
                    await _store(savepoint, table, org_id, [plan])
            except IntegrityError as exc:
                plan.fail([_conflict(table, plan.index, exc)])


def _conflict(table: Table, index: int, exc: IntegrityError) -> FieldError:
    """The row error for a constraint the row broke: a known unique one names its field; any
    other (a CHECK or foreign key validation did not foresee) fails the row, never the call."""
    name = violated_constraint(exc)
    if name is not None and name in table.unique:
        path, message = table.unique[name]
        return FieldError(ErrorCode.DUPLICATE, row_path(index, path), message)
    rule = f" ({name})" if name else ""
    return FieldError(
        ErrorCode.BAD_USER_INPUT, row_path(index), f"the database refused this row{rule}"
    )


async def _assign_ids(conn: BaseDBAsyncClient, table: Table, plans: list[Plan]) -> None:
    if not plans:
        return
    ids = await fetch(
        f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) AS id"
        " FROM generate_series(1, $1)",
        [len(plans)], conn,
    )
    for plan, row in zip(plans, ids, strict=True):
        plan.values["id"] = row["id"]


async def _store(conn: BaseDBAsyncClient, table: Table, org_id: int, plans: list[Plan]) -> None:
    created = [p for p in plans if p.existing is None]
    updated = [p for p in plans if p.existing is not None]
    stored: dict[int, dict[str, Any]] = {}
    if created:
        records = [{**table.defaults, **p.values} for p in created]
        stored |= await _run(conn, _insert_sql(table), org_id, records)
    if updated:
        records = [_merged(table, p) for p in updated]
        ids = [record["id"] for record in records]
        stored |= await _run(conn, _update_sql(table), org_id, records, ids)
    for plan in plans:
        row_id = plan.values["id"] if plan.existing is None else plan.existing["id"]
        plan.result.row = stored[row_id]


def _merged(table: Table, plan: Plan) -> dict[str, Any]:
    assert plan.existing is not None
    record = {c: plan.existing[c] for c in table.writable} | plan.values
    return record | {"id": plan.existing["id"]}


async def _run(
    conn: BaseDBAsyncClient, sql: str, org_id: int, records: list[dict[str, Any]],
    *extra: Any,
) -> dict[int, dict[str, Any]]:
    payload = orjson.dumps(records, default=_json_default).decode()
    rows = await fetch(sql, [org_id, payload, *extra], conn)
    return {row["id"]: row for row in rows}


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} values")


def _insert_sql(table: Table) -> str:
    columns = ", ".join(table.writable)
    picked = ", ".join(f"v.{c}" for c in table.writable)
    return (
        f"INSERT INTO {table.name} AS t (id, organization_id, created_at, updated_at, {columns})"
        f" SELECT v.id, $1, now(), now(), {picked}"
        f" FROM jsonb_populate_recordset(NULL::{table.name}, $2::text::jsonb) v"
        f" RETURNING {table.columns}"
    )


def _update_sql(table: Table) -> str:
    # A table that grew since its last ANALYZE looks tiny to the planner, which then scans it
    # first and re-runs the row function once per stored row (quadratic: seconds for 1,000
    # rows). Materialised rows and the ids ($3) keep the join linear whatever the statistics.
    assignments = ", ".join(f"{c} = v.{c}" for c in table.writable)
    return (
        f"WITH v AS MATERIALIZED (SELECT * FROM"
        f" jsonb_populate_recordset(NULL::{table.name}, $2::text::jsonb))"
        f" UPDATE {table.name} AS t SET {assignments}, updated_at = now() FROM v"
        f" WHERE t.id = v.id AND t.organization_id = $1 AND t.id = ANY($3::bigint[])"
        f" RETURNING {table.columns}"
    )
