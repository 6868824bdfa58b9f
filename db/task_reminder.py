"""Task reminders: tasks falling due become ``taskDue`` events, and each user's day starts with a
digest of due and overdue tasks. Both are claimed with ``FOR UPDATE SKIP LOCKED`` in short
transactions, so any number of workers share the work and none does it twice.

A reminder marks its task with the due time it was sent for (``reminded_for``): moving the due
time arms the reminder again. Events go to ``task_event`` and are notified on the live-event
channel (``db.events``) when the transaction commits, so every server process hears them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db import events
from db.sql import client, fetch

TASK_DUE = events.EventKind.TASK_DUE.value


async def fire_due(
    *, limit: int = 500, org_ids: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """Publish a ``task_due`` event for open, assigned tasks whose due time has come and was not
    reminded yet (at most ``limit``); returns the tasks (id, organization, assignee)."""
    async with in_transaction() as conn:
        rows = await fetch(
            "UPDATE task t SET reminded_for = t.due_at FROM (SELECT id FROM task"
            "  WHERE status = 'OPEN' AND assignee_id IS NOT NULL AND due_at IS NOT NULL"
            "  AND reminded_for IS DISTINCT FROM due_at AND due_at <= now()"
            "  AND ($2::bigint[] IS NULL OR organization_id = ANY($2::bigint[]))"
            "  ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED) due"
            " WHERE t.id = due.id RETURNING t.id, t.organization_id, t.assignee_id",
            [limit, list(org_ids) if org_ids is not None else None], conn,
        )
        if rows:
            await publish(kind=TASK_DUE, tasks=rows, using=conn)
    return rows


async def publish(*, kind: str, tasks: Sequence[dict[str, Any]], using: BaseDBAsyncClient) -> None:
    """Log events about these tasks and notify listeners (heard only if ``using`` commits)."""
    await client(using).execute_query(
        "WITH logged AS (INSERT INTO task_event (kind, organization_id, task_id)"
        " SELECT $1, x.org, x.id FROM unnest($2::bigint[], $3::bigint[]) AS x(id, org)"
        " ORDER BY x.id RETURNING organization_id)"
        " SELECT pg_notify($4, json_build_object('xid', pg_current_xact_id()::text::bigint,"
        " 'org', o.org, 'topic', $5::text)::text)"
        " FROM (SELECT DISTINCT organization_id AS org FROM logged) o",
        [kind, [t["id"] for t in tasks], [t["organization_id"] for t in tasks], events.CHANNEL,
         events.TASK_TOPIC],
    )


async def claim_digests(
    *, now: datetime, hour: int, limit: int, org_ids: Sequence[int] | None,
    using: BaseDBAsyncClient,
) -> list[dict[str, Any]]:
    """Users whose organization's day (at ``now``) has reached ``hour`` and who have not had
    that day's digest, marked as having it; with the day's end in UTC (``day_end``)."""
    return await fetch(
        "UPDATE app_user u SET last_digest_on = d.local_day FROM ("
        " SELECT u.id, o.name AS organization_name, o.time_zone, o.locale,"
        "  ($1::timestamptz AT TIME ZONE o.time_zone)::date AS local_day"
        " FROM app_user u JOIN organization o ON o.id = u.organization_id"
        " WHERE u.is_active AND u.task_digest"
        "  AND extract(hour FROM $1::timestamptz AT TIME ZONE o.time_zone) >= $2"
        "  AND (u.last_digest_on IS NULL"
        "   OR u.last_digest_on < ($1::timestamptz AT TIME ZONE o.time_zone)::date)"
        "  AND ($4::bigint[] IS NULL OR u.organization_id = ANY($4::bigint[]))"
        " ORDER BY u.id LIMIT $3 FOR UPDATE OF u SKIP LOCKED) d"
        " WHERE u.id = d.id RETURNING u.id, u.organization_id, u.email, u.name,"
        " d.organization_name, d.time_zone, d.locale, d.local_day,"
        " ((d.local_day + 1)::timestamp AT TIME ZONE d.time_zone) AS day_end",
        [now, hour, limit, list(org_ids) if org_ids is not None else None], using,
    )


async def open_tasks_due(
    *, users: Sequence[dict[str, Any]], using: BaseDBAsyncClient
) -> dict[int, list[dict[str, Any]]]:
    """Each user's open tasks due before the end of their day (overdue ones first)."""
    rows = await fetch(
        "SELECT t.id, t.assignee_id, t.title, t.due_at, t.priority FROM task t"
        " JOIN unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS d(user_id, org, day_end)"
        "  ON t.organization_id = d.org AND t.assignee_id = d.user_id"
        " WHERE t.status = 'OPEN' AND t.due_at < d.day_end"
        " ORDER BY t.assignee_id, t.due_at, t.id",
        [[u["id"] for u in users], [u["organization_id"] for u in users],
         [u["day_end"] for u in users]], using,
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["assignee_id"], []).append(row)
    return out
