"""Data-subject requests: everything held on one customer, and its irreversible erasure."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db.sql import fetch, fetch_one

ERASED_NAME = "Erased customer"
_ORG_CUSTOMER = "organization_id = $1 AND customer_id = $2"
EXPORT_QUERIES = {
    "interactions": "SELECT id, channel, direction, subject, body, occurred_at, metadata,"
    " created_by_id, created_at FROM interaction WHERE " + _ORG_CUSTOMER + " ORDER BY id",
    "orders": "SELECT id, external_ref, amount, currency, status, placed_at, line_items,"
    " created_at, updated_at FROM customer_order WHERE " + _ORG_CUSTOMER + " ORDER BY id",
    "emails": "SELECT id, interaction_id, campaign_id, message_id, sender, recipient, status,"
    " attempts, sent_at, created_at FROM email_message WHERE " + _ORG_CUSTOMER + " ORDER BY id",
    "inboundEmails": "SELECT i.id, i.interaction_id, i.message_id, i.sender, i.received_at"
    " FROM email_inbound i JOIN interaction n ON n.id = i.interaction_id"
    " WHERE n.organization_id = $1 AND n.customer_id = $2 ORDER BY i.id",
    "emailSuppressions": "SELECT id, email, reason, detail, created_at FROM email_suppression"
    " WHERE organization_id = $1 AND (customer_id = $2 OR lower(email) = lower($3))"
    " ORDER BY id",
    "messages": "SELECT id, interaction_id, channel, recipient, status, attempts,"
    " provider_message_id, sent_at, delivered_at, created_at FROM channel_message WHERE "
    + _ORG_CUSTOMER + " ORDER BY id",
    "handles": "SELECT platform, handle, created_at FROM customer_handle WHERE "
    + _ORG_CUSTOMER + " ORDER BY id",
    "channelConsents": "SELECT channel, opted_out, source, updated_at FROM channel_consent"
    " WHERE " + _ORG_CUSTOMER + " ORDER BY channel",
    "predictions": "SELECT churn_risk, expected_revenue, expected_orders, segment, reasons,"
    " model_version, as_of, horizon_days, scored_at FROM prediction WHERE " + _ORG_CUSTOMER,
}


def plain(value: Any) -> Any:
    """``value`` with dates, decimals and nested containers as JSON-ready values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None
    return value


async def export(*, org_id: int, customer_id: int) -> dict[str, Any] | None:
    """Everything held on a customer of the organization (deleted ones too), or None."""
    customer = await fetch_one(
        "SELECT * FROM customer WHERE organization_id = $1 AND id = $2", [org_id, customer_id]
    )
    if customer is None:
        return None
    document: dict[str, Any] = {"customer": customer}
    for name, sql in EXPORT_QUERIES.items():
        values = [org_id, customer_id] + ([customer["email"] or ""] if "$3" in sql else [])
        document[name] = await fetch(sql, values)
    erased = await fetch_one(
        "SELECT erased_at FROM customer_erasure WHERE customer_id = $1", [customer_id]
    )
    document["erasedAt"] = erased["erased_at"] if erased else None
    return plain(document)  # type: ignore[no-any-return]


async def erase(*, org_id: int, customer_id: int) -> dict[str, Any] | None:
    """Anonymise a customer's personal data for good; orders keep their amounts. None: unknown.

    The customer stays deleted, opted out and unscored, so no campaign or model sees it again.
    """
    async with in_transaction() as conn:
        customer = await fetch_one(
            "SELECT id, email, search_words FROM customer WHERE organization_id = $1 AND id = $2"
            " FOR UPDATE",
            [org_id, customer_id], conn,
        )
        if customer is None:
            return None
        await _erase_rows(conn, org_id, customer_id, customer["email"])
        row = await fetch_one(
            "UPDATE customer SET name = $3, email = NULL, phone = NULL, company = NULL,"
            " street = NULL, city = NULL, region = NULL, postal_code = NULL, country = NULL,"
            " tags = '{}', custom_fields = '{}', external_ref = NULL, email_opt_out = true,"
            " deleted_at = coalesce(deleted_at, now()), updated_at = now()"
            " WHERE organization_id = $1 AND id = $2 RETURNING *",
            [org_id, customer_id, ERASED_NAME], conn,
        )
        # the search dictionary forgets the words (a rare surname) no one else holds
        await fetch(
            "DELETE FROM search_word w WHERE w.word = ANY($1::text[]) AND NOT EXISTS"
            " (SELECT 1 FROM customer c WHERE c.search_words @> ARRAY[w.word])",
            [list(customer["search_words"] or ())], conn,
        )
        # clearing the tags and custom fields just logged their removal: that goes too
        await fetch("DELETE FROM customer_change WHERE " + _ORG_CUSTOMER, [org_id, customer_id],
                    conn)
        await fetch(
            "INSERT INTO customer_erasure (organization_id, customer_id, erased_at)"
            " VALUES ($1, $2, now()) ON CONFLICT (customer_id) DO NOTHING",
            [org_id, customer_id], conn,
        )
        return row


ERASE_STATEMENTS = (
    # queued mail to the person is never sent
    "UPDATE email_message SET status = 'FAILED', last_error = 'customer erased',"
    " locked_by = NULL WHERE " + _ORG_CUSTOMER + " AND status IN ('QUEUED', 'SENDING')",
    "UPDATE email_message SET recipient = '', mime = ''::bytea, idempotency_key = NULL,"
    " last_error = CASE WHEN last_error IS NULL THEN NULL ELSE 'erased' END"
    " WHERE " + _ORG_CUSTOMER,
    "UPDATE email_inbound i SET sender = '' FROM interaction n WHERE n.id = i.interaction_id"
    " AND n.organization_id = $1 AND n.customer_id = $2",
    "UPDATE interaction SET subject = NULL, body = '', metadata = '{}'"
    " WHERE " + _ORG_CUSTOMER,
    "DELETE FROM prediction WHERE " + _ORG_CUSTOMER,
    # queued messages are never sent; numbers, handles and texts go
    "UPDATE channel_message SET status = 'FAILED', last_error = 'customer erased',"
    " locked_by = NULL WHERE " + _ORG_CUSTOMER + " AND status IN ('QUEUED', 'SENDING')",
    "UPDATE channel_message SET recipient = '', body = '', idempotency_key = NULL"
    " WHERE " + _ORG_CUSTOMER,
    "DELETE FROM customer_handle WHERE " + _ORG_CUSTOMER,
    "DELETE FROM customer_score WHERE " + _ORG_CUSTOMER,
    "DELETE FROM customer_change WHERE " + _ORG_CUSTOMER,
)


async def _erase_rows(
    conn: BaseDBAsyncClient, org_id: int, customer_id: int, email: str | None
) -> None:
    for sql in ERASE_STATEMENTS:
        await fetch(sql, [org_id, customer_id], conn)
    # the address itself is personal data: its opt-outs go with it
    await fetch(
        "DELETE FROM email_suppression WHERE organization_id = $1"
        " AND (customer_id = $2 OR lower(email) = lower($3))",
        [org_id, customer_id, email or ""], conn,
    )
