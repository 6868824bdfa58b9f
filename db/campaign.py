"""Campaigns: creation, batch-wise queueing in short transactions, and progress counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db import customer as customers
from db import customer_filter_json as filter_json
from db.customer_filter import CustomerFilter
from db.email import QueuedEmail, change_of, status_changed, wake_workers
from db.email_enums import CampaignStatus
from db.pagination import Source
from db.sql import fetch, fetch_one, violated_constraint

COLUMNS = (
    "t.id, t.organization_id, t.template_id, t.name, t.status, t.customer_filter, t.variables,"
    " t.max_customer_id, t.cursor, t.total, t.queued, t.skipped, t.created_by_id,"
    " t.created_at, t.queued_at"
)


@dataclass(frozen=True)
class Progress:
    """How far a campaign's emails got."""

    sent: int = 0
    failed: int = 0
    bounced: int = 0


def recipients(org_id: int, f: CustomerFilter) -> Source:
    """Live customers matching ``f`` who can be emailed (an address, no opt-out)."""
    base = customers.source(org_id, f)
    where = (
        f"{base.where} AND t.email IS NOT NULL AND NOT t.email_opt_out AND NOT EXISTS ("
        "SELECT 1 FROM email_suppression s WHERE s.organization_id = t.organization_id"
        " AND lower(s.email) = lower(t.email))"
    )
    return Source(base.table, base.columns, where, base.params)


async def create(
    *, org_id: int, user_id: int | None, template_id: int, name: str,
    f: CustomerFilter, variables: dict[str, Any], idempotency_key: str | None,
) -> dict[str, Any]:
    """Store a campaign over the recipients who exist now; workers queue its emails."""
    source = recipients(org_id, f)
    totals = await fetch_one(
        f"SELECT count(*) AS n, coalesce(max(t.id), 0) AS max_id FROM {source.table} t"
        f" WHERE {source.where}",
        source.params.values,
    )
    assert totals is not None
    try:
        async with in_transaction() as conn:
            row = await fetch_one(
                "INSERT INTO email_campaign (organization_id, template_id, name, status,"
                " customer_filter, variables, max_customer_id, cursor, total, queued, skipped,"
                " idempotency_key, created_by_id, created_at)"
                " VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, 0, $8, 0, 0, $9, $10, now())"
                f" RETURNING {COLUMNS.replace('t.', '')}",
                [org_id, template_id, name, CampaignStatus.QUEUEING.value,
                 orjson.dumps(filter_json.to_json(f)).decode(), orjson.dumps(variables).decode(),
                 totals["max_id"], totals["n"], idempotency_key, user_id],
                conn,
            )
            await wake_workers(conn)
    except IntegrityError as exc:
        if violated_constraint(exc) != "email_campaign_idempotency_uniq":
            raise
        earlier = await get_by_idempotency_key(org_id=org_id, key=idempotency_key or "")
        if earlier is None:
            raise
        return earlier
    assert row is not None
    return row


async def get_by_idempotency_key(*, org_id: int, key: str) -> dict[str, Any] | None:
    """The campaign created earlier with this idempotency key."""
    return await fetch_one(
        f"SELECT {COLUMNS} FROM email_campaign t"
        " WHERE t.organization_id = $1 AND t.idempotency_key = $2",
        [org_id, key],
    )


async def get_many(*, org_id: int, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The organization's campaigns with these ids, keyed by id."""
    rows = await fetch(
        f"SELECT {COLUMNS} FROM email_campaign t"
        " WHERE t.organization_id = $1 AND t.id = ANY($2::bigint[])",
        [org_id, list(ids)],
    )
    return {row["id"]: row for row in rows}


async def progress(*, ids: Sequence[int]) -> dict[int, Progress]:
    """Sent, failed and bounced counts of many campaigns in one statement."""
    rows = await fetch(
        "SELECT campaign_id, count(*) FILTER (WHERE status = 'SENT') AS sent,"
        " count(*) FILTER (WHERE status = 'FAILED') AS failed,"
        " count(*) FILTER (WHERE status = 'BOUNCED') AS bounced"
        " FROM email_message WHERE campaign_id = ANY($1::bigint[]) GROUP BY campaign_id",
        [list(ids)],
    )
    return {r["campaign_id"]: Progress(r["sent"], r["failed"], r["bounced"]) for r in rows}


async def lock_queueing(
    conn: BaseDBAsyncClient, org_ids: Sequence[int] | None
) -> dict[str, Any] | None:
    """A campaign still being queued that no other worker holds, locked for one batch."""
    orgs = "" if org_ids is None else " AND t.organization_id = ANY($1::bigint[])"
    return await fetch_one(
        f"SELECT {COLUMNS} FROM email_campaign t WHERE t.status = 'QUEUEING'{orgs}"
        " ORDER BY t.id LIMIT 1 FOR UPDATE SKIP LOCKED",
        [] if org_ids is None else [list(org_ids)], conn,
    )


async def next_recipients(
    conn: BaseDBAsyncClient, campaign: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    """The campaign's next recipients after its cursor, in id order."""
    source = recipients(
        campaign["organization_id"], filter_json.from_json(campaign["customer_filter"])
    )
    p = source.params
    return await fetch(
        f"SELECT {source.columns} FROM {source.table} t WHERE {source.where}"
        f" AND t.id > {p.add(campaign['cursor'])} AND t.id <= {p.add(campaign['max_customer_id'])}"
        f" ORDER BY t.id LIMIT {p.add(limit)}",
        p.values, conn,
    )


async def queue_batch(
    conn: BaseDBAsyncClient, campaign: dict[str, Any], emails: Sequence[QueuedEmail], *,
    skipped: int, cursor: int, done: bool,
) -> None:
    """Insert one batch of interactions and outbox entries and move the cursor past it."""
    org_id = campaign["organization_id"]
    if emails:
        rows = await fetch(
            "WITH i AS (INSERT INTO interaction (organization_id, customer_id, channel,"
            " direction, subject, body, occurred_at, created_by_id, metadata, created_at)"
            " SELECT $1, u.customer_id, 'EMAIL', 'OUTBOUND', left(u.subject, 500), u.body, now(),"
            " $2, u.metadata::jsonb, now() FROM unnest($3::bigint[], $4::text[], $5::text[],"
            " $6::text[]) AS u(customer_id, subject, body, metadata) RETURNING id, customer_id)"
            " INSERT INTO email_message (organization_id, interaction_id, customer_id,"
            " campaign_id, message_id, sender, recipient, mime, status, attempts, available_at,"
            " created_at, updated_at)"
            " SELECT $1, i.id, i.customer_id, $7, m.message_id, m.sender, m.recipient, m.mime,"
            " 'QUEUED', 0, now(), now(), now() FROM i JOIN unnest($3::bigint[], $8::text[],"
            " $9::text[], $10::text[], $11::bytea[]) AS m(customer_id, message_id, sender,"
            " recipient, mime) ON m.customer_id = i.customer_id"
            " RETURNING id, organization_id, interaction_id, status, attempts, last_error, sent_at",
            [org_id, campaign["created_by_id"], [e.customer_id for e in emails],
             [e.subject for e in emails], [e.text for e in emails],
             [orjson.dumps({"messageId": e.message_id, "to": e.recipient,
                            "campaignId": campaign["id"]}).decode() for e in emails],
             campaign["id"], [e.message_id for e in emails], [e.sender for e in emails],
             [e.recipient for e in emails], [e.mime for e in emails]],
            conn,
        )
        await wake_workers(conn)
        await status_changed([change_of(row) for row in rows], conn)
    await conn.execute_query(
        "UPDATE email_campaign SET cursor = $2, queued = queued + $3, skipped = skipped + $4,"
        " status = CASE WHEN $5 THEN 'QUEUED' ELSE status END,"
        " queued_at = CASE WHEN $5 THEN now() ELSE queued_at END WHERE id = $1",
        [campaign["id"], cursor, len(emails), skipped, done],
    )


async def cancel(*, org_id: int, campaign_id: int) -> dict[str, Any] | None:
    """Stop queueing a campaign and fail its emails not yet handed to a worker."""
    async with in_transaction() as conn:
        row = await fetch_one(
            "UPDATE email_campaign SET status = 'CANCELLED' WHERE id = $1 AND organization_id = $2"
            f" AND status <> 'CANCELLED' RETURNING {COLUMNS.replace('t.', '')}",
            [campaign_id, org_id], conn,
        )
        if row is None:
            return None
        rows = await fetch(
            "UPDATE email_message SET status = 'FAILED', last_error = 'campaign cancelled',"
            " updated_at = now() WHERE campaign_id = $1 AND status = 'QUEUED'"
            " RETURNING id, organization_id, interaction_id, status, attempts, last_error, sent_at",
            [campaign_id], conn,
        )
        await status_changed([change_of(r) for r in rows], conn)
    return row
