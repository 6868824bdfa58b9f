"""Interaction events: logged and notified by triggers in the writing transaction, read by id.

See migrations/0004_interaction_events.py. A notification says "transaction ``xid`` wrote events
of organization ``org``"; listeners read those events back with the interaction rows they name
(and the customer's owner, for filters). Nothing is notified before the transaction commits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

import asyncpg
import orjson
from tortoise.backends.base.client import BaseDBAsyncClient

from db.enums import Channel, Direction
from db.interaction import COLUMNS
from db.sql import client, fetch
from db.task import COLUMNS as TASK_COLUMNS

CHANNEL = "crm_interaction_events"
PAGE_SIZE = 1000


class EventKind(StrEnum):
    """What happened to an interaction."""

    CREATED = "created"
    UPDATED = "updated"
    # published by the email domain when a delivery status changes (see ``publish``)
    EMAIL_STATUS = "email_status"
    # a task's due time came (db/task_reminder.py): the event's row is the task
    TASK_DUE = "task_due"


TASK_TOPIC = "task"  # notices of task events; interaction events' notices have no topic


@dataclass(frozen=True, order=True)
class Notice:
    """One notification: transaction ``xid`` committed events of organization ``org_id``."""

    xid: int
    org_id: int
    topic: str = ""  # "" for interaction events, TASK_TOPIC for task events


@dataclass(frozen=True)
class Event:
    """What one transaction did to one interaction, with the interaction as it is now."""

    kinds: frozenset[EventKind]
    org_id: int
    row: dict[str, Any]
    owner_id: int | None

    @property
    def created(self) -> bool:
        """Whether the interaction is new (a later update in the same transaction included)."""
        return EventKind.CREATED in self.kinds

    @property
    def about_task(self) -> bool:
        """Whether the event is about a task (its row is the task, ``owner_id`` its assignee)."""
        return EventKind.TASK_DUE in self.kinds


@dataclass(frozen=True)
class EventFilter:
    """Which interactions a subscriber wants; every given condition must hold."""

    customer_id: int | None = None
    channels: frozenset[Channel] = frozenset()
    direction: Direction | None = None
    owner_id: int | None = None

    def matches(self, event: Event) -> bool:
        """Whether ``event`` is about an interaction this filter selects."""
        if event.about_task:
            return False
        row = event.row
        return (
            (self.customer_id is None or row["customer_id"] == self.customer_id)
            and (not self.channels or row["channel"] in self.channels)
            and (self.direction is None or row["direction"] == self.direction)
            and (self.owner_id is None or event.owner_id == self.owner_id)
        )


def parse_notice(payload: str) -> Notice | None:
    """The notice in a notification payload (None for anything malformed)."""
    try:
        data = orjson.loads(payload)
        xid, org = data["xid"], data["org"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    topic = data.get("topic", "") if isinstance(data, dict) else ""
    if not isinstance(xid, int) or not isinstance(org, int) or not isinstance(topic, str):
        return None
    return Notice(xid, org, topic)


async def publish(
    *, kind: EventKind, interaction_ids: Sequence[int], using: BaseDBAsyncClient | None = None
) -> None:
    """Publish events about existing interactions from inside the caller's transaction.

    Subscribers hear of them when (and only if) that transaction commits.
    """
    await client(using).execute_query(
        "SELECT crm_publish_interaction_events($1, $2::bigint[])",
        [kind.value, list(interaction_ids)],
    )


async def horizon(conn: asyncpg.Connection) -> int:
    """The oldest transaction id still running: every older one has committed or aborted."""
    value: int = await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    return value


async def committed_since(conn: asyncpg.Connection, since: int) -> tuple[int, list[Notice]]:
    """A new horizon, and every committed transaction from ``since`` on that wrote events.

    One snapshot serves both, so whatever is older than the new horizon is in the list.
    """
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        now = await horizon(conn)
        rows = await conn.fetch(
            "SELECT DISTINCT xid, organization_id, '' AS topic FROM interaction_event"
            " WHERE xid >= $1 UNION"
            " SELECT DISTINCT xid, organization_id, $2 FROM task_event WHERE xid >= $1"
            " ORDER BY xid, organization_id",
            since, TASK_TOPIC,
        )
    return now, [Notice(row["xid"], row["organization_id"], row["topic"]) for row in rows]


_EVENTS_SQL = (
    "SELECT p.ord, e.id AS event_id, e.xid, e.kind, e.organization_id AS event_org_id,"
    f" c.owner_id AS customer_owner_id, {COLUMNS}"
    " FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS p(xid, org, ord)"
    " CROSS JOIN LATERAL ("
    "  SELECT e.* FROM interaction_event e"
    "  WHERE e.xid = p.xid AND e.organization_id = p.org AND (p.ord > $3 OR e.id > $4)"
    "  ORDER BY e.id LIMIT $5) e"
    " JOIN interaction t ON t.id = e.interaction_id"
    " JOIN customer c ON c.id = t.customer_id"
    " WHERE p.ord >= $3"
    " ORDER BY p.ord, e.id LIMIT $5"
)


async def read(notices: Sequence[Notice], page_size: int = PAGE_SIZE) -> AsyncIterator[Event]:
    """The events of these notices in order, one per interaction and transaction.

    Reads a page at a time, so a transaction that wrote a million rows costs bounded memory.
    Task events (few: one per task falling due) follow, read in one statement.
    """
    tasks = [n for n in notices if n.topic == TASK_TOPIC]
    notices = [n for n in notices if n.topic != TASK_TOPIC]
    if notices:
        async for event in _read_interactions(notices, page_size):
            yield event
    if tasks:
        for event in await _read_tasks(tasks):
            yield event


async def _read_interactions(notices: Sequence[Notice], page_size: int) -> AsyncIterator[Event]:
    xids = [n.xid for n in notices]
    orgs = [n.org_id for n in notices]
    cursor: tuple[int, int] = (0, 0)
    seen: set[tuple[int, int]] = set()
    while True:
        rows = await fetch(_EVENTS_SQL, [xids, orgs, *cursor, page_size])
        for event in _collapse(rows, seen):
            yield event
        if len(rows) < page_size:
            return
        cursor = (rows[-1]["ord"], rows[-1]["event_id"])


def _collapse(rows: list[dict[str, Any]], seen: set[tuple[int, int]]) -> list[Event]:
    kinds: dict[tuple[int, int], set[EventKind]] = {}
    first: dict[tuple[int, int], dict[str, Any]] = {}
    for row in rows:
        key = (row["xid"], row["id"])
        if key in seen:
            continue
        kinds.setdefault(key, set()).add(EventKind(row["kind"]))
        first.setdefault(key, row)
    seen.update(first)
    return [_event(row, frozenset(kinds[key])) for key, row in first.items()]


def _event(row: dict[str, Any], kinds: frozenset[EventKind]) -> Event:
    interaction = {key: row[key] for key in _INTERACTION_KEYS}
    return Event(kinds, row["event_org_id"], interaction, row["customer_owner_id"])


_INTERACTION_KEYS = tuple(column.strip().removeprefix("t.") for column in COLUMNS.split(","))


_TASK_EVENTS_SQL = (
    f"SELECT e.kind, e.organization_id AS event_org_id, {TASK_COLUMNS}"
    " FROM unnest($1::bigint[], $2::bigint[]) AS p(xid, org)"
    " JOIN task_event e ON e.xid = p.xid AND e.organization_id = p.org"
    " JOIN task t ON t.id = e.task_id ORDER BY e.id"
)


async def _read_tasks(notices: Sequence[Notice]) -> list[Event]:
    rows = await fetch(_TASK_EVENTS_SQL, [[n.xid for n in notices], [n.org_id for n in notices]])
    return [
        Event(frozenset({EventKind(row["kind"])}), row["event_org_id"],
              {key: row[key] for key in _TASK_KEYS}, row["assignee_id"])
        for row in rows
    ]


_TASK_KEYS = tuple(column.strip().removeprefix("t.") for column in TASK_COLUMNS.split(","))


async def prune(older_than: timedelta) -> int:
    """Delete events older than ``older_than``; returns how many went."""
    rows = await fetch(
        "WITH gone AS (DELETE FROM interaction_event WHERE created_at < now() - $1::interval"
        " RETURNING 1), tasks AS (DELETE FROM task_event WHERE created_at < now() - $1::interval"
        " RETURNING 1) SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM tasks) AS n",
        [older_than],
    )
    return int(rows[0]["n"])
