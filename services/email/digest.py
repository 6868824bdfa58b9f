"""The daily task digest: each user's open tasks due today or overdue, in the organization's
time zone, emailed through the outbox once the local day reaches ``CRM_TASK_DIGEST_HOUR``.
Users turn it off with ``updateMyPreferences(input: {taskDigest: false})``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from core.config import Settings
from db import email as emails
from db import task_reminder as reminders
from db.email_enums import EmailKind
from services.email.staff import compose

log = logging.getLogger("crm.digest")
BATCH = 100


def _line(task: dict[str, Any], zone: ZoneInfo, now: datetime) -> str:
    due = task["due_at"].astimezone(zone)
    late = "OVERDUE " if task["due_at"] < now else ""
    return f"- {late}{due:%Y-%m-%d %H:%M} {task['title']} ({task['priority'].lower()})"


def text_of(user: dict[str, Any], tasks: Sequence[dict[str, Any]], now: datetime) -> str:
    """The digest's text: overdue tasks first, each with its due time in local time."""
    zone = ZoneInfo(user["time_zone"])
    lines = "\n".join(_line(task, zone, now) for task in tasks)
    return (
        f"Your open tasks in {user['organization_name']} due by the end of"
        f" {user['local_day']:%A, %Y-%m-%d} ({user['time_zone']}):\n\n{lines}\n\n"
        "Turn this email off with updateMyPreferences(input: {taskDigest: false}).\n"
    )


async def send_due(
    settings: Settings, *, now: datetime, org_ids: Sequence[int] | None = None
) -> int:
    """Queue today's digest for every user due one; how many digests were queued. Users with
    nothing due are marked done for the day without an email."""
    queued = 0
    while True:
        async with in_transaction() as conn:
            users = await reminders.claim_digests(
                now=now, hour=settings.task_digest_hour, limit=BATCH, org_ids=org_ids,
                using=conn,
            )
            due = await reminders.open_tasks_due(users=users, using=conn) if users else {}
            for user in users:
                tasks = due.get(user["id"])
                if not tasks:
                    continue
                overdue = sum(1 for task in tasks if task["due_at"] < now)
                await emails.queue_staff(org_id=user["organization_id"], using=conn,
                                         email=compose(
                    settings, kind=EmailKind.TASK_DIGEST, user_id=user["id"],
                    recipient=user["email"], name=user["name"] or None,
                    subject=f"Tasks for {user['local_day']:%Y-%m-%d}: {len(tasks)} due"
                            + (f", {overdue} overdue" if overdue else ""),
                    text=text_of(user, tasks, now),
                ))
                queued += 1
        if len(users) < BATCH:
            return queued
