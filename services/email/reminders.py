"""What the email worker does on a schedule besides sending: task reminders (``taskDue``
events) as tasks fall due, and the daily digests (services/email/digest.py)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from core.config import Settings
from db import task_reminder as reminders
from services.email import digest

log = logging.getLogger("crm.reminders")
BATCH = 500


async def run_once(settings: Settings, org_ids: Sequence[int] | None = None) -> tuple[int, int]:
    """Remind every task that fell due and queue the digests that are due; (reminders, digests)."""
    reminded = 0
    while True:
        fired = await reminders.fire_due(limit=BATCH, org_ids=org_ids)
        reminded += len(fired)
        if len(fired) < BATCH:
            break
    digests = await digest.send_due(settings, now=datetime.now(UTC), org_ids=org_ids)
    if reminded or digests:
        log.info("%d task reminders published, %d digests queued", reminded, digests)
    return reminded, digests
