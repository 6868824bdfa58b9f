"""The outbox of non-email channels: queueing with the interaction, claims, leases, statuses.

Like the email outbox (db/outbox.py): a claim takes due messages of one provider with
``FOR UPDATE SKIP LOCKED`` within the provider's token bucket, marks them SENDING with a lease
and counts the attempt, in one short transaction; the provider's HTTP call happens after it
commits. A message whose lease runs out (its worker died) is due again. Every status change
publishes an ``updated`` event of the interaction (``interactionUpdated`` subscribers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db import events
from db.channel_enums import MessageStatus
from db.enums import Channel
from db.events import EventKind
from db.sql import client, fetch, fetch_one, violated_constraint

OUTBOX_CHANNEL = "crm_channel_outbox"
PENDING_SQL = "status IN ('QUEUED', 'SENDING')"
DELIVERY_COLUMNS = (
    "id, organization_id, interaction_id, customer_id, provider_id, channel, recipient,"
    " encoding, segments, status, attempts, last_error, provider_message_id, available_at,"
    " sent_at, delivered_at, created_at"
)
# which statuses each status may follow (a late report never overwrites a final state)
ALLOWED_FROM: dict[MessageStatus, tuple[MessageStatus, ...]] = {
    MessageStatus.QUEUED: (MessageStatus.SENDING,),
    MessageStatus.SENDING: (MessageStatus.QUEUED, MessageStatus.SENDING),
    MessageStatus.SENT: (MessageStatus.QUEUED, MessageStatus.SENDING),
    # a receipt may overtake the worker's own record of the send
    MessageStatus.DELIVERED: (MessageStatus.SENDING, MessageStatus.SENT),
    MessageStatus.FAILED: (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT),
}


@dataclass(frozen=True)
class QueuedMessage:
    """A message ready for the outbox."""

    customer_id: int
    provider_id: int
    channel: Channel
    recipient: str
    text: str
    encoding: str
    segments: int
    available_at: datetime | None  # None: now (else held back by quiet hours)
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Claimed:
    """A message a worker holds a lease on."""

    id: int
    organization_id: int
    provider_id: int
    channel: Channel
    recipient: str
    body: str
    attempts: int
    opted_out: bool


@dataclass(frozen=True)
class RateLimit:
    """A token bucket per provider: ``per_second`` sustained, bursts up to ``burst``."""

    per_second: float
    burst: int


async def queue(
    *, org_id: int, user_id: int | None, message: QueuedMessage, idempotency_key: str | None
) -> dict[str, Any]:
    """Record the OUTBOUND interaction and its outbox entry in one transaction.

    Returns the delivery row; with an idempotency key used before, the earlier one.
    """
    try:
        async with in_transaction() as conn:
            return await _insert(conn, org_id, user_id, message, idempotency_key)
    except IntegrityError as exc:
        if violated_constraint(exc) != "channel_message_idempotency_uniq" or not idempotency_key:
            raise
        earlier = await get_by_idempotency_key(org_id=org_id, key=idempotency_key)
        if earlier is None:
            raise
        return earlier


async def _insert(
    conn: BaseDBAsyncClient, org_id: int, user_id: int | None, message: QueuedMessage,
    idempotency_key: str | None,
) -> dict[str, Any]:
    interaction = await fetch_one(
        "INSERT INTO interaction (organization_id, customer_id, channel, direction, body,"
        " occurred_at, created_by_id, metadata, created_at)"
        " VALUES ($1, $2, $3, 'OUTBOUND', $4, now(), $5, $6::jsonb, now()) RETURNING id",
        [org_id, message.customer_id, message.channel.value, message.text, user_id,
         message.metadata],
        conn,
    )
    assert interaction is not None
    row = await fetch_one(
        "INSERT INTO channel_message (organization_id, interaction_id, customer_id, provider_id,"
        " channel, idempotency_key, recipient, body, encoding, segments, status, attempts,"
        " available_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
        " 'QUEUED', 0, coalesce($11::timestamptz, now()), now(), now())"
        f" RETURNING {DELIVERY_COLUMNS}",
        [org_id, interaction["id"], message.customer_id, message.provider_id,
         message.channel.value, idempotency_key, message.recipient, message.text,
         message.encoding, message.segments, message.available_at],
        conn,
    )
    assert row is not None
    await client(conn).execute_query("SELECT pg_notify($1, '')", [OUTBOX_CHANNEL])
    return row


async def get_by_idempotency_key(*, org_id: int, key: str) -> dict[str, Any] | None:
    """The message queued earlier with this idempotency key."""
    return await fetch_one(
        f"SELECT {DELIVERY_COLUMNS} FROM channel_message"
        " WHERE organization_id = $1 AND idempotency_key = $2",
        [org_id, key],
    )


async def get(message_id: int) -> dict[str, Any] | None:
    """One outbox row (of any organization)."""
    return await fetch_one(
        f"SELECT {DELIVERY_COLUMNS} FROM channel_message WHERE id = $1", [message_id]
    )


async def find(*, provider_id: int, reference: int | None, provider_message_id: str | None
               ) -> dict[str, Any] | None:
    """The provider's message named by our reference or by the provider's own id."""
    return await fetch_one(
        f"SELECT {DELIVERY_COLUMNS} FROM channel_message WHERE provider_id = $1"
        " AND (id = $2::bigint OR provider_message_id = $3::text)"
        " ORDER BY (id = $2::bigint) DESC NULLS LAST LIMIT 1",
        [provider_id, reference, provider_message_id],
    )


async def deliveries(*, org_id: int, interaction_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Delivery rows of these interactions, keyed by interaction id."""
    rows = await fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM channel_message"
        " WHERE organization_id = $1 AND interaction_id = ANY($2::bigint[])",
        [org_id, list(interaction_ids)],
    )
    return {row["interaction_id"]: row for row in rows}


async def set_status(
    message_id: int,
    status: MessageStatus,
    *,
    error: str | None = None,
    retry_in: float | None = None,
    refund_attempt: bool = False,
    holder: str | None = None,
    provider_message_id: str | None = None,
) -> dict[str, Any] | None:
    """Move one message to ``status``; None when its current status does not allow it.

    ``holder`` changes it only while that worker's lease holds it (a worker never undoes
    another's claim); ``retry_in`` schedules the next attempt (QUEUED).
    """
    async with in_transaction() as conn:
        row = await fetch_one(
            "UPDATE channel_message SET status = $2::varchar,"
            " last_error = CASE WHEN $2::varchar IN ('SENT', 'DELIVERED') THEN last_error"
            "   ELSE coalesce($3::text, last_error) END,"
            " available_at = CASE WHEN $4::float8 IS NULL THEN available_at"
            "   ELSE now() + $4::float8 * interval '1 second' END,"
            " sent_at = CASE WHEN $2::varchar IN ('SENT', 'DELIVERED')"
            "   THEN coalesce(sent_at, now()) ELSE sent_at END,"
            " delivered_at = CASE WHEN $2::varchar = 'DELIVERED' THEN now() ELSE delivered_at END,"
            " provider_message_id = coalesce(provider_message_id, $8::text),"
            " attempts = attempts - $5::int, locked_by = NULL, updated_at = now()"
            " WHERE id = $1 AND status = ANY($6::text[])"
            " AND ($7::varchar IS NULL OR locked_by = $7::varchar)"
            f" RETURNING {DELIVERY_COLUMNS}",
            [message_id, status.value, error, retry_in, int(refund_attempt),
             [s.value for s in ALLOWED_FROM[status]], holder, provider_message_id],
            conn,
        )
        if row is not None:
            await events.publish(
                kind=EventKind.UPDATED, interaction_ids=[row["interaction_id"]], using=conn
            )
        return row


async def providers_with_due(org_ids: Sequence[int] | None = None) -> list[int]:
    """Providers that have messages due now."""
    rows = await fetch(
        f"SELECT DISTINCT provider_id AS id FROM channel_message WHERE {PENDING_SQL}"
        " AND available_at <= now() AND ($1::bigint[] IS NULL OR organization_id = ANY($1))",
        [list(org_ids) if org_ids is not None else None],
    )
    return [row["id"] for row in rows]


async def claim(
    *, provider_id: int, limit: int, lease_seconds: float, worker: str, rate: RateLimit
) -> list[Claimed]:
    """Lease up to ``limit`` due messages of one provider, within its send rate."""
    async with in_transaction() as conn:
        bucket = await fetch_one(
            "INSERT INTO channel_send_bucket AS b (provider_id, tokens, updated_at)"
            " VALUES ($1, $2::float8, clock_timestamp())"
            " ON CONFLICT (provider_id) DO UPDATE SET"
            " tokens = LEAST($2::float8, b.tokens + $3::float8 * GREATEST(0,"
            "   EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at)::float8)),"
            " updated_at = clock_timestamp()"
            " RETURNING tokens",
            [provider_id, float(rate.burst), rate.per_second], conn,
        )
        allowed = min(limit, math.floor(bucket["tokens"] if bucket else 0))
        if allowed <= 0:
            return []
        rows = await fetch(
            "UPDATE channel_message m SET status = 'SENDING', attempts = m.attempts + 1,"
            " available_at = now() + $3::float8 * interval '1 second', locked_by = $4,"
            " updated_at = now()"
            " FROM (SELECT id FROM channel_message"
            f"   WHERE provider_id = $1 AND {PENDING_SQL} AND available_at <= now()"
            "   ORDER BY available_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) due"
            " WHERE m.id = due.id"
            " RETURNING m.id, m.organization_id, m.provider_id, m.channel, m.recipient, m.body,"
            " m.attempts, m.interaction_id, EXISTS (SELECT 1 FROM channel_consent c"
            "   WHERE c.customer_id = m.customer_id AND c.channel = m.channel AND c.opted_out)"
            "   AS opted_out",
            [provider_id, allowed, lease_seconds, worker], conn,
        )
        if rows:
            await client(conn).execute_query(
                "UPDATE channel_send_bucket SET tokens = tokens - $2 WHERE provider_id = $1",
                [provider_id, len(rows)],
            )
            await events.publish(kind=EventKind.UPDATED,
                                 interaction_ids=[r["interaction_id"] for r in rows], using=conn)
    return [
        Claimed(id=r["id"], organization_id=r["organization_id"], provider_id=r["provider_id"],
                channel=Channel(r["channel"]), recipient=r["recipient"], body=r["body"],
                attempts=r["attempts"], opted_out=r["opted_out"])
        for r in sorted(rows, key=lambda r: r["id"])
    ]


async def renew(*, ids: Sequence[int], worker: str, lease_seconds: float) -> list[int]:
    """Extend ``worker``'s leases on these messages; the ids it still held."""
    rows = await fetch(
        "UPDATE channel_message SET available_at = now() + $3::float8 * interval '1 second'"
        " WHERE id = ANY($1::bigint[]) AND locked_by = $2 AND status = 'SENDING'"
        " RETURNING id",
        [list(ids), worker, lease_seconds],
    )
    return [row["id"] for row in rows]
