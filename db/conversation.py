"""Conversations: a customer's messages across channels in time order, read marks per user."""

from __future__ import annotations

from collections.abc import Sequence

from db import interaction as interactions
from db.enums import Channel
from db.sql import fetch, fetch_one

# the channels a conversation thread shows (the ones people write back on)
CONVERSATION_CHANNELS = (Channel.SMS, Channel.WHATSAPP, Channel.PHONE, Channel.CHAT,
                         Channel.SOCIAL, Channel.EMAIL)
SORT = interactions.SORTS["OCCURRED_AT_ASC"]


def thread_filter(channel: Channel | None) -> interactions.InteractionFilter:
    """The interactions of a conversation: one channel, or every conversation channel."""
    return interactions.InteractionFilter(
        channels=(channel,) if channel is not None else CONVERSATION_CHANNELS
    )


async def unread_counts(*, user_id: int, customer_ids: Sequence[int]) -> dict[int, int]:
    """INBOUND messages on conversation channels the user has not read, per customer."""
    rows = await fetch(
        "SELECT i.customer_id, count(*) AS n FROM interaction i"
        " LEFT JOIN conversation_read r ON r.customer_id = i.customer_id AND r.user_id = $1"
        " WHERE i.customer_id = ANY($2::bigint[]) AND i.direction = 'INBOUND'"
        " AND i.channel = ANY($3::text[]) AND i.created_at > coalesce(r.read_at, '-infinity')"
        " GROUP BY i.customer_id",
        [user_id, list(customer_ids), [c.value for c in CONVERSATION_CHANNELS]],
    )
    counts = {row["customer_id"]: row["n"] for row in rows}
    return {customer_id: counts.get(customer_id, 0) for customer_id in customer_ids}


async def mark_read(*, org_id: int, user_id: int, customer_id: int) -> bool:
    """The user has read the customer's conversation up to now; False: no such customer."""
    row = await fetch_one(
        "INSERT INTO conversation_read (user_id, customer_id, read_at)"
        " SELECT $2, c.id, clock_timestamp() FROM customer c"
        " WHERE c.id = $3 AND c.organization_id = $1 AND c.deleted_at IS NULL"
        " ON CONFLICT (user_id, customer_id) DO UPDATE SET read_at = EXCLUDED.read_at"
        " RETURNING id",
        [org_id, user_id, customer_id],
    )
    return row is not None
