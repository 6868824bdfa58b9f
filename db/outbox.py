"""The outbox as workers see it: fair, rate-limited claims with leases, in short transactions.

A claim takes due emails of one organization with ``FOR UPDATE SKIP LOCKED`` (so concurrent
workers never take the same row), marks them SENDING with a lease and counts the attempt,
all in one short transaction; the SMTP conversation happens after it commits. The worker
renews its leases while it lives (``renew``); an email whose lease runs out (its worker died)
is due again and another worker picks it up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from db.email import change_of, status_changed
from db.sql import fetch, fetch_one

PENDING_SQL = "status IN ('QUEUED', 'SENDING')"


@dataclass(frozen=True)
class Claimed:
    """An email a worker holds a lease on."""

    id: int
    organization_id: int
    interaction_id: int | None
    message_id: str
    sender: str
    recipient: str
    mime: bytes
    attempts: int
    opted_out: bool


@dataclass(frozen=True)
class RateLimit:
    """A token bucket per organization: ``per_second`` sustained, bursts up to ``burst``."""

    per_second: float
    burst: int


async def organizations_with_due_email(org_ids: Sequence[int] | None = None) -> list[int]:
    """Organizations that have emails due now (a skip scan over the pending index)."""
    if org_ids is not None:
        rows = await fetch(
            f"SELECT DISTINCT organization_id AS id FROM email_message WHERE {PENDING_SQL}"
            " AND available_at <= now() AND organization_id = ANY($1::bigint[])",
            [list(org_ids)],
        )
        return [row["id"] for row in rows]
    rows = await fetch(
        "WITH RECURSIVE orgs(id) AS ("
        f" SELECT min(organization_id) FROM email_message WHERE {PENDING_SQL}"
        "   AND available_at <= now()"
        " UNION ALL"
        " SELECT (SELECT min(organization_id) FROM email_message"
        f"   WHERE {PENDING_SQL} AND available_at <= now() AND organization_id > orgs.id)"
        " FROM orgs WHERE orgs.id IS NOT NULL)"
        " SELECT id FROM orgs WHERE id IS NOT NULL"
    )
    return [row["id"] for row in rows]


async def claim(
    *, org_id: int, limit: int, lease_seconds: float, worker: str, rate: RateLimit
) -> list[Claimed]:
    """Lease up to ``limit`` due emails of one organization, within its send rate."""
    async with in_transaction() as conn:
        bucket = await fetch_one(
            "INSERT INTO email_send_bucket AS b (organization_id, tokens, updated_at)"
            " VALUES ($1, $2::float8, clock_timestamp())"
            " ON CONFLICT (organization_id) DO UPDATE SET"
            " tokens = LEAST($2::float8, b.tokens + $3::float8 * GREATEST(0,"
            "   EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at)::float8)),"
            " updated_at = clock_timestamp()"
            " RETURNING tokens",
            [org_id, float(rate.burst), rate.per_second], conn,
        )
        allowed = min(limit, math.floor(bucket["tokens"] if bucket else 0))
        if allowed <= 0:
            return []
        rows = await fetch(
            "UPDATE email_message m SET status = 'SENDING', attempts = m.attempts + 1,"
            " available_at = now() + $3::float8 * interval '1 second', locked_by = $4,"
            " updated_at = now()"
            " FROM (SELECT id FROM email_message"
            f"   WHERE organization_id = $1 AND {PENDING_SQL} AND available_at <= now()"
            "   ORDER BY available_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) due"
            " WHERE m.id = due.id"
            " RETURNING m.id, m.organization_id, m.interaction_id, m.message_id, m.sender,"
            " m.recipient, m.mime, m.status, m.attempts, m.last_error, m.sent_at,"
            # opt-outs are customers': staff email (no customer) is never opted out
            " coalesce((SELECT c.email_opt_out FROM customer c WHERE c.id = m.customer_id),"
            " false) AS email_opt_out",
            [org_id, allowed, lease_seconds, worker], conn,
        )
        if rows:
            await conn.execute_query(
                "UPDATE email_send_bucket SET tokens = tokens - $2 WHERE organization_id = $1",
                [org_id, len(rows)],
            )
            await status_changed([change_of(row) for row in rows], conn)
    return [
        Claimed(
            id=row["id"], organization_id=row["organization_id"],
            interaction_id=row["interaction_id"], message_id=row["message_id"],
            sender=row["sender"], recipient=row["recipient"], mime=bytes(row["mime"]),
            attempts=row["attempts"], opted_out=row["email_opt_out"],
        )
        for row in sorted(rows, key=lambda r: r["id"])
    ]


async def renew(*, ids: Sequence[int], worker: str, lease_seconds: float) -> list[int]:
    """Extend ``worker``'s leases on these emails; the ids it still held (and now holds longer)."""
    rows = await fetch(
        "UPDATE email_message SET available_at = now() + $3::float8 * interval '1 second'"
        " WHERE id = ANY($1::bigint[]) AND locked_by = $2 AND status = 'SENDING'"
        " RETURNING id",
        [list(ids), worker, lease_seconds],
    )
    return [row["id"] for row in rows]
