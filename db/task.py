"""Tasks: filters, keyset pages (overdue first for one's own), and validated writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import validation
from db.company import owner_exists
from db.pagination import Sort, Source
from db.sales_enums import TaskPriority, TaskStatus
from db.sql import Params, fetch, fetch_one

COLUMNS = (
    "t.id, t.organization_id, t.title, t.notes, t.due_at, t.status, t.priority, t.assignee_id,"
    " t.customer_id, t.company_id, t.deal_id, t.created_by_id, t.completed_at, t.created_at,"
    " t.updated_at"
)
SORTS = {
    s.name: s
    for s in (
        # overdue ones are the earliest due: first; tasks without a due time last
        Sort("DUE_AT_ASC", "coalesce(t.due_at, '9999-12-31T00:00:00Z'::timestamptz)",
             "datetime", descending=False),
        Sort("CREATED_AT_DESC", "t.created_at", "datetime", descending=True),
        Sort("UPDATED_AT_DESC", "t.updated_at", "datetime", descending=True),
    )
}
LINKS = {"customer_id": ("customer", "customerId"), "company_id": ("company", "companyId"),
         "deal_id": ("deal", "dealId")}
MAX_NOTES = 10_000


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks to list; every given condition must hold."""

    statuses: Sequence[TaskStatus] = ()
    priorities: Sequence[TaskPriority] = ()
    assignee_ids: Sequence[int] = ()
    customer_id: int | None = None
    company_id: int | None = None
    deal_id: int | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool | None = None


def source(org_id: int, f: TaskFilter) -> Source:
    """The organization's tasks matching ``f``."""
    params = Params()
    where = [f"t.organization_id = {params.add(org_id)}"]
    for column, values in (("status", [s.value for s in f.statuses]),
                           ("priority", [p.value for p in f.priorities])):
        if values:
            where.append(f"t.{column} = ANY({params.add(values)}::text[])")
    if f.assignee_ids:
        where.append(f"t.assignee_id = ANY({params.add(list(f.assignee_ids))}::bigint[])")
    for column in LINKS:
        value = getattr(f, column)
        if value is not None:
            where.append(f"t.{column} = {params.add(value)}")
    if f.due_before is not None:
        where.append(f"t.due_at < {params.add(f.due_before)}")
    if f.due_after is not None:
        where.append(f"t.due_at >= {params.add(f.due_after)}")
    if f.overdue is not None:
        overdue = "t.status = 'OPEN' AND t.due_at < now()"
        where.append(f"({overdue})" if f.overdue else f"NOT coalesce({overdue}, false)")
    return Source("task", COLUMNS, " AND ".join(where), params)


async def get_many(*, org_id: int, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The organization's tasks with these ids, keyed by id."""
    rows = await fetch(
        f"SELECT {COLUMNS} FROM task t WHERE t.organization_id = $1"
        " AND t.id = ANY($2::bigint[])", [org_id, list(ids)],
    )
    return {row["id"]: row for row in rows}


async def _clean(
    conn: BaseDBAsyncClient, org_id: int, data: dict[str, Any], creating: bool
) -> dict[str, Any]:
    c = validation.Cleaner()
    out: dict[str, Any] = {}
    if creating or "title" in data:
        out["title"] = c.text("title", data.get("title"), 200, required=True)
    if "notes" in data:
        out["notes"] = c.text("notes", data["notes"], MAX_NOTES, multiline=True) or ""
    for key in ("due_at", "priority", "status"):
        if key in data and (data[key] is not None or key == "due_at"):
            out[key] = data[key]
    if "assignee_id" in data:
        out["assignee_id"] = data["assignee_id"]
        if not await owner_exists(org_id, data["assignee_id"]):
            c.fail("assigneeId", "user not found", ErrorCode.NOT_FOUND)
    given = [column for column in LINKS if data.get(column) is not None]
    if len(given) > 1:
        c.fail(LINKS[given[1]][1], "a task is linked to one customer, company or deal")
    for column in given[:1]:
        table, path = LINKS[column]
        if not await fetch_one(
            f"SELECT 1 FROM {table} WHERE id = $1 AND organization_id = $2"
            " AND deleted_at IS NULL FOR SHARE", [data[column], org_id], conn,
        ):
            c.fail(path, f"{table} not found", ErrorCode.NOT_FOUND)
    if given or any(column in data for column in LINKS):
        out.update({column: data.get(column) for column in LINKS})  # one link replaces another
    c.raise_if_any()
    return out


def _status_columns(values: dict[str, Any]) -> str:
    status = values.get("status")
    if status is None:
        return ""
    return ", completed_at = now()" if status == TaskStatus.DONE else ", completed_at = NULL"


async def create(*, org_id: int, user_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """Insert a task (assigned to its creator unless another assignee is given)."""
    async with in_transaction() as conn:
        values = await _clean(conn, org_id, data, creating=True)
        if values.get("assignee_id") is None:
            values["assignee_id"] = user_id
        values.setdefault("notes", "")
        values.setdefault("status", TaskStatus.OPEN)
        values.setdefault("priority", TaskPriority.NORMAL)
        params = Params()
        columns = ["organization_id", "created_by_id", *values]
        holders = [params.add(org_id), params.add(user_id),
                   *(params.add(v) for v in values.values())]
        completed = "now()" if values.get("status") == TaskStatus.DONE else "NULL"
        row = await fetch_one(
            f"INSERT INTO task AS t ({', '.join(columns)}, completed_at, created_at,"
            f" updated_at) VALUES ({', '.join(holders)}, {completed}, now(), now())"
            f" RETURNING {COLUMNS}", params.values, conn,
        )
    assert row is not None
    return row


async def update(*, org_id: int, task_id: int, data: dict[str, Any]) -> dict[str, Any] | None:
    """Change the given fields of a task; None if there is no such task."""
    async with in_transaction() as conn:
        if not await fetch_one("SELECT 1 FROM task WHERE id = $1 AND organization_id = $2"
                               " FOR UPDATE", [task_id, org_id], conn):
            return None
        values = await _clean(conn, org_id, data, creating=False)
        params = Params()
        sets = "".join(f"{key} = {params.add(value)}, " for key, value in values.items())
        return await fetch_one(
            f"UPDATE task t SET {sets}updated_at = now(){_status_columns(values)}"
            f" WHERE t.id = {params.add(task_id)} RETURNING {COLUMNS}", params.values, conn,
        )


async def complete(*, org_id: int, task_id: int) -> dict[str, Any] | None:
    """Mark a task done (a done task stays as it was); None if there is no such task."""
    row = await fetch_one(
        "UPDATE task t SET status = 'DONE', completed_at = coalesce(t.completed_at, now()),"
        " updated_at = now() WHERE t.id = $1 AND t.organization_id = $2"
        f" AND t.status <> 'CANCELLED' RETURNING {COLUMNS}", [task_id, org_id],
    )
    if row is None and await fetch_one(
        "SELECT 1 FROM task WHERE id = $1 AND organization_id = $2", [task_id, org_id]
    ):
        raise InputError([FieldError(ErrorCode.BAD_USER_INPUT, ("id",),
                                     "a cancelled task cannot be completed")])
    return row
