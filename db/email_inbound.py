"""Received email: threading to our messages, matching senders, recording exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db.sql import fetch, fetch_one, violated_constraint


async def find_thread(message_ids: Sequence[str]) -> dict[str, Any] | None:
    """The most recent of our outbound emails among ``message_ids`` (In-Reply-To first)."""
    if not message_ids:
        return None
    rows = await fetch(
        "SELECT organization_id, interaction_id, customer_id, message_id FROM email_message"
        # replies thread to customer email only (staff email has no interaction)
        " WHERE message_id = ANY($1::text[]) AND interaction_id IS NOT NULL",
        [list(message_ids)],
    )
    by_id = {row["message_id"]: row for row in rows}
    return next((by_id[m] for m in message_ids if m in by_id), None)


async def organization_by_slug(slug: str) -> int | None:
    """The id of the organization with this slug."""
    row = await fetch_one("SELECT id FROM organization WHERE slug = $1", [slug])
    return row["id"] if row else None


async def customer_by_email(*, org_id: int, email: str) -> int | None:
    """The live customer of the organization with this address (any case)."""
    row = await fetch_one(
        "SELECT id FROM customer WHERE organization_id = $1 AND lower(email) = lower($2)"
        " AND deleted_at IS NULL",
        [org_id, email],
    )
    return row["id"] if row else None


async def get(*, org_id: int, message_id: str) -> dict[str, Any] | None:
    """The inbound message recorded earlier with this Message-ID."""
    return await fetch_one(
        "SELECT id, interaction_id, in_reply_to_id FROM email_inbound"
        " WHERE organization_id = $1 AND message_id = $2",
        [org_id, message_id],
    )


async def record(
    *, org_id: int, customer_id: int, message_id: str, sender: str, subject: str | None,
    text: str, occurred_at: datetime | None, in_reply_to: int | None, metadata: dict[str, Any],
) -> tuple[dict[str, Any], bool]:
    """Record an INBOUND EMAIL interaction; (the row, False) if this message was recorded."""
    try:
        async with in_transaction() as conn:
            interaction = await fetch_one(
                "INSERT INTO interaction (organization_id, customer_id, channel, direction,"
                " subject, body, occurred_at, metadata, created_at)"
                " VALUES ($1, $2, 'EMAIL', 'INBOUND', $3, $4, $5, $6::jsonb, now())"
                " RETURNING id",
                [org_id, customer_id, subject, text, occurred_at or datetime.now(UTC), metadata],
                conn,
            )
            assert interaction is not None
            row = await fetch_one(
                "INSERT INTO email_inbound (organization_id, interaction_id, message_id,"
                " in_reply_to_id, sender, received_at) VALUES ($1, $2, $3, $4, $5, now())"
                " RETURNING id, interaction_id, in_reply_to_id",
                [org_id, interaction["id"], message_id, in_reply_to, sender],
                conn,
            )
            assert row is not None
    except IntegrityError as exc:
        if violated_constraint(exc) != "email_inbound_message_uniq":
            raise
        earlier = await get(org_id=org_id, message_id=message_id)
        if earlier is None:
            raise
        return earlier, False
    return row, True
