"""Outbound email data: queueing with the interaction, delivery status changes, opt-outs.

Every change of an email's delivery status goes through ``set_status`` (or, for the bulk claim
of the outbox worker and for new emails, through ``status_changed``), which publishes it to live
subscribers and to ``status_listeners``, inside the transaction that makes the change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db import events
from db.email_enums import EmailKind, EmailStatus, SuppressionReason
from db.events import EventKind
from db.sql import client, fetch, fetch_one, violated_constraint

OUTBOX_CHANNEL = "crm_outbox"
# the application_name of every email worker's listening connection: while one is connected,
# some worker (crm worker, or one inside crm serve) is alive to send what is queued
WORKER_APPLICATION = "crm-email-worker"
DELIVERY_COLUMNS = (
    "t.id, t.organization_id, t.interaction_id, t.customer_id, t.campaign_id, t.message_id,"
    " t.recipient, t.status, t.attempts, t.last_error, t.sent_at, t.created_at"
)
# which statuses each status may follow (a late report never overwrites a final state)
ALLOWED_FROM: dict[EmailStatus, tuple[EmailStatus, ...]] = {
    EmailStatus.QUEUED: (EmailStatus.SENDING,),
    EmailStatus.SENDING: (EmailStatus.QUEUED, EmailStatus.SENDING),
    EmailStatus.SENT: (EmailStatus.QUEUED, EmailStatus.SENDING),
    EmailStatus.FAILED: (EmailStatus.QUEUED, EmailStatus.SENDING),
    EmailStatus.BOUNCED: (EmailStatus.QUEUED, EmailStatus.SENDING, EmailStatus.SENT),
}


@dataclass(frozen=True)
class StatusChange:
    """An email's delivery status after a change."""

    organization_id: int
    interaction_id: int | None  # None for staff email (no customer, no interaction)
    email_id: int
    status: EmailStatus
    attempts: int
    last_error: str | None
    sent_at: datetime | None


StatusListener = Callable[[Sequence[StatusChange], BaseDBAsyncClient], Awaitable[None]]
# Called inside the transaction that makes the change (e.g. to NOTIFY subscribers on commit).
status_listeners: list[StatusListener] = []


async def status_changed(changes: Sequence[StatusChange], using: BaseDBAsyncClient) -> None:
    """Publish changes to subscribers and status listeners (heard only if ``using`` commits)."""
    if not changes:
        return
    interaction_ids = sorted({c.interaction_id for c in changes if c.interaction_id is not None})
    if interaction_ids:
        await events.publish(
            kind=EventKind.EMAIL_STATUS, interaction_ids=interaction_ids, using=using
        )
    for listener in status_listeners:
        await listener(changes, using)


def change_of(row: dict[str, Any]) -> StatusChange:
    """The status change a returned email row describes."""
    return StatusChange(
        organization_id=row["organization_id"], interaction_id=row["interaction_id"],
        email_id=row["id"], status=EmailStatus(row["status"]), attempts=row["attempts"],
        last_error=row["last_error"], sent_at=row["sent_at"],
    )


async def set_status(
    email_id: int,
    status: EmailStatus,
    *,
    error: str | None = None,
    retry_in: float | None = None,
    refund_attempt: bool = False,
    holder: str | None = None,
    using: BaseDBAsyncClient | None = None,
) -> StatusChange | None:
    """Move one email to ``status``; None when its current status does not allow it.

    ``retry_in`` schedules the next attempt (QUEUED); ``refund_attempt`` undoes the attempt
    counted at claim time (an email given back unsent); ``holder`` changes it only while that
    worker's lease holds it (a worker never undoes another's claim).
    """
    async with in_transaction() if using is None else _same(using) as conn:
        row = await fetch_one(
            "UPDATE email_message SET status = $2::varchar,"
            " last_error = coalesce($3::text, last_error),"
            " available_at = CASE WHEN $4::float8 IS NULL THEN available_at"
            "   ELSE now() + $4::float8 * interval '1 second' END,"
            " sent_at = CASE WHEN $2::varchar = 'SENT' THEN now() ELSE sent_at END,"
            " attempts = attempts - $5::int, locked_by = NULL, updated_at = now()"
            " WHERE id = $1 AND status = ANY($6::text[])"
            " AND ($7::varchar IS NULL OR locked_by = $7::varchar)"
            " RETURNING id, organization_id, interaction_id, status, attempts, last_error, sent_at",
            [email_id, status.value, error, retry_in, int(refund_attempt),
             [s.value for s in ALLOWED_FROM[status]], holder],
            conn,
        )
        if row is None:
            return None
        change = change_of(row)
        await status_changed([change], conn)
        return change


class _same:
    """An already open transaction, usable where ``in_transaction()`` would be."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def __aenter__(self) -> BaseDBAsyncClient:
        return self.conn

    async def __aexit__(self, *exc: object) -> None:
        return None


async def deliveries(*, org_id: int, interaction_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Delivery rows of these interactions, keyed by interaction id."""
    rows = await fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM email_message t"
        " WHERE t.organization_id = $1 AND t.interaction_id = ANY($2::bigint[])",
        [org_id, list(interaction_ids)],
    )
    return {row["interaction_id"]: row for row in rows}


async def get_by_idempotency_key(*, org_id: int, key: str) -> dict[str, Any] | None:
    """The email queued earlier with this idempotency key."""
    return await fetch_one(
        f"SELECT {DELIVERY_COLUMNS} FROM email_message t"
        " WHERE t.organization_id = $1 AND t.idempotency_key = $2",
        [org_id, key],
    )


async def get_by_message_id(message_id: str) -> dict[str, Any] | None:
    """The outbound email with this Message-ID (of any organization)."""
    return await fetch_one(
        f"SELECT {DELIVERY_COLUMNS} FROM email_message t WHERE t.message_id = $1", [message_id]
    )


@dataclass(frozen=True)
class QueuedEmail:
    """A composed email ready for the outbox."""

    customer_id: int
    recipient: str
    sender: str
    subject: str
    text: str
    message_id: str
    mime: bytes


async def queue(
    *, org_id: int, user_id: int | None, email: QueuedEmail, idempotency_key: str | None
) -> dict[str, Any]:
    """Record the OUTBOUND EMAIL interaction and its outbox entry in one transaction.

    Returns the delivery row; with an idempotency key used before, the earlier one.
    """
    try:
        async with in_transaction() as conn:
            row = await _insert(conn, org_id, user_id, email, idempotency_key)
    except IntegrityError as exc:
        if violated_constraint(exc) != "email_message_idempotency_uniq" or not idempotency_key:
            raise
        earlier = await get_by_idempotency_key(org_id=org_id, key=idempotency_key)
        if earlier is None:
            raise
        return earlier
    return row


async def _insert(
    conn: BaseDBAsyncClient, org_id: int, user_id: int | None, email: QueuedEmail,
    idempotency_key: str | None,
) -> dict[str, Any]:
    interaction = await fetch_one(
        "INSERT INTO interaction (organization_id, customer_id, channel, direction, subject,"
        " body, occurred_at, created_by_id, metadata, created_at)"
        " VALUES ($1, $2, 'EMAIL', 'OUTBOUND', $3, $4, now(), $5, $6::jsonb, now())"
        " RETURNING id",
        [org_id, email.customer_id, email.subject[:500], email.text, user_id,
         {"messageId": email.message_id, "to": email.recipient}],
        conn,
    )
    assert interaction is not None
    row = await fetch_one(
        "INSERT INTO email_message (organization_id, interaction_id, customer_id,"
        " idempotency_key, message_id, sender, recipient, mime, status, attempts,"
        " available_at, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'QUEUED', 0, now(), now(), now())"
        f" RETURNING {DELIVERY_COLUMNS.replace('t.', '')}",
        [org_id, interaction["id"], email.customer_id, idempotency_key, email.message_id,
         email.sender, email.recipient, email.mime],
        conn,
    )
    assert row is not None
    await wake_workers(conn)
    await status_changed([change_of(row)], conn)
    return row


@dataclass(frozen=True)
class StaffEmail:
    """A composed email to a user of the organization (no customer, no interaction)."""

    kind: EmailKind
    user_id: int | None
    recipient: str
    sender: str
    message_id: str
    mime: bytes


async def queue_staff(
    *, org_id: int, email: StaffEmail, using: BaseDBAsyncClient | None = None
) -> dict[str, Any]:
    """Put a staff email in the outbox (in the caller's transaction when ``using`` is one):
    the same workers, retries and SMTP path as customer email, without an interaction."""
    async with in_transaction() if using is None else _same(using) as conn:
        row = await fetch_one(
            "INSERT INTO email_message (organization_id, kind, user_id, message_id, sender,"
            " recipient, mime, status, attempts, available_at, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, 'QUEUED', 0, now(), now(), now())"
            f" RETURNING {DELIVERY_COLUMNS.replace('t.', '')}",
            [org_id, email.kind.value, email.user_id, email.message_id, email.sender,
             email.recipient, email.mime],
            conn,
        )
        assert row is not None
        await wake_workers(conn)
        await status_changed([change_of(row)], conn)
    return row


async def wake_workers(conn: BaseDBAsyncClient) -> None:
    """Tell listening workers (on commit) that the outbox has new work."""
    await client(conn).execute_query("SELECT pg_notify($1, '')", [OUTBOX_CHANNEL])


async def is_suppressed(*, org_id: int, email: str) -> bool:
    """Whether the organization must not email this address (unsubscribed or bounced)."""
    row = await fetch_one(
        "SELECT 1 AS x FROM email_suppression WHERE organization_id = $1"
        " AND lower(email) = lower($2)",
        [org_id, email],
    )
    return row is not None


async def suppress(
    *, org_id: int, email: str, customer_id: int | None, reason: SuppressionReason,
    detail: str = "", using: BaseDBAsyncClient | None = None,
) -> None:
    """Never email this address again; the customer (if any) is marked as opted out."""
    async with in_transaction() if using is None else _same(using) as conn:
        await client(conn).execute_query(
            "INSERT INTO email_suppression (organization_id, customer_id, email, reason, detail,"
            " created_at) VALUES ($1, $2, $3, $4, $5, now())"
            " ON CONFLICT (organization_id, lower(email)) DO NOTHING",
            [org_id, customer_id, email, reason.value, detail[:2000]],
        )
        if customer_id is not None:
            await client(conn).execute_query(
                "UPDATE customer SET email_opt_out = true, updated_at = now()"
                " WHERE id = $1 AND organization_id = $2 AND NOT email_opt_out",
                [customer_id, org_id],
            )


async def unsubscribe(*, org_id: int, customer_id: int) -> dict[str, Any] | None:
    """Record a customer's opt-out (idempotent); None if there is no such customer."""
    async with in_transaction() as conn:
        customer = await fetch_one(
            "SELECT id, email, email_opt_out FROM customer WHERE id = $1 AND organization_id = $2"
            " FOR UPDATE",
            [customer_id, org_id], conn,
        )
        if customer is None:
            return None
        if not customer["email_opt_out"]:
            # the timeline shows when and how the customer opted out
            await client(conn).execute_query(
                "INSERT INTO interaction (organization_id, customer_id, channel, direction,"
                " subject, body, occurred_at, metadata, created_at) VALUES ($1, $2, 'EMAIL',"
                " 'INBOUND', 'Unsubscribed', $3, now(), $4::jsonb, now())",
                [org_id, customer_id, "Opted out of email with the unsubscribe link.",
                 {"event": "unsubscribe"}],
            )
        if customer["email"]:
            await suppress(
                org_id=org_id, email=customer["email"], customer_id=customer_id,
                reason=SuppressionReason.UNSUBSCRIBED, detail="unsubscribe link", using=conn,
            )
        else:
            await client(conn).execute_query(
                "UPDATE customer SET email_opt_out = true, updated_at = now() WHERE id = $1",
                [customer_id],
            )
    return customer


async def workers_alive() -> bool:
    """Whether any email worker is connected to this database (its listening connection)."""
    row = await fetch_one(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = $1"
        " AND datname = current_database()) AS alive", [WORKER_APPLICATION],
    )
    return bool(row and row["alive"])
