"""The webhook event log as the delivery service reads it, and its retention."""

from __future__ import annotations

from datetime import timedelta

from db.sql import fetch

CHANNEL = "crm_webhooks"  # notified (on commit) whenever deliveries were queued


async def prune(older_than: timedelta, batch: int = 10_000) -> int:
    """Delete events (and their deliveries) older than ``older_than``; returns how many went."""
    total = 0
    while True:
        rows = await fetch(
            "WITH gone AS (DELETE FROM webhook_event WHERE id IN ("
            " SELECT id FROM webhook_event WHERE occurred_at < now() - $1::interval LIMIT $2)"
            " RETURNING 1) SELECT count(*) AS n FROM gone",
            [older_than, batch],
        )
        removed = int(rows[0]["n"])
        total += removed
        if removed < batch:
            return total
