"""How to reach customers on messaging channels: consent per channel, social handles, matching.

A customer with no consent row on a channel may be messaged (as email without an opt-out); an
opt-out row (a STOP reply, or an agent's ``setChannelConsent``) keeps every later message off
that channel until the customer opts in again (START).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import customer as customers
from db.customer_filter import CustomerFilter
from db.enums import Channel
from db.sql import client, fetch, fetch_one, violated_constraint


async def opted_out(*, customer_id: int, channel: Channel) -> bool:
    """Whether the customer opted out of ``channel``."""
    row = await fetch_one(
        "SELECT opted_out FROM channel_consent WHERE customer_id = $1 AND channel = $2",
        [customer_id, channel.value],
    )
    return bool(row and row["opted_out"])


async def opted_out_channels(*, customer_id: int) -> list[str]:
    """The channels the customer opted out of."""
    rows = await fetch(
        "SELECT channel FROM channel_consent WHERE customer_id = $1 AND opted_out"
        " ORDER BY channel", [customer_id],
    )
    return [row["channel"] for row in rows]


async def opted_out_by_customer(*, customer_ids: Sequence[int]) -> dict[int, list[str]]:
    """The channels each of these customers opted out of."""
    rows = await fetch(
        "SELECT customer_id, channel FROM channel_consent WHERE customer_id = ANY($1::bigint[])"
        " AND opted_out ORDER BY customer_id, channel", [list(customer_ids)],
    )
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(row["customer_id"], []).append(row["channel"])
    return found


async def set_consent(
    *, org_id: int, customer_id: int, channel: Channel, opted_out: bool, source: str,
    using: BaseDBAsyncClient | None = None,
) -> None:
    """Record the customer's opt-out (or opt-in) on ``channel``."""
    await client(using).execute_query(
        "INSERT INTO channel_consent (organization_id, customer_id, channel, opted_out, source,"
        " updated_at) VALUES ($1, $2, $3, $4, $5, now())"
        " ON CONFLICT (customer_id, channel) DO UPDATE SET opted_out = EXCLUDED.opted_out,"
        " source = EXCLUDED.source, updated_at = now()"
        # the same choice again changes nothing (its time stays that of the choice)
        " WHERE (channel_consent.opted_out, channel_consent.source)"
        " IS DISTINCT FROM (EXCLUDED.opted_out, EXCLUDED.source)",
        [org_id, customer_id, channel.value, opted_out, source[:100]],
    )


async def latest_handle(*, customer_id: int) -> dict[str, Any] | None:
    """The customer's most recently added handle."""
    return await fetch_one(
        "SELECT platform, handle FROM customer_handle WHERE customer_id = $1"
        " ORDER BY created_at DESC, id DESC LIMIT 1", [customer_id],
    )


async def add_handle(*, org_id: int, customer_id: int, platform: str, handle: str) -> None:
    """Give the customer a handle on ``platform`` (DUPLICATE if another customer has it)."""
    try:
        async with in_transaction() as conn:  # a savepoint: the caller's transaction goes on
            await client(conn).execute_query(
                "INSERT INTO customer_handle (organization_id, customer_id, platform, handle,"
                " created_at) VALUES ($1, $2, $3, $4, now())",
                [org_id, customer_id, platform, handle],
            )
    except IntegrityError as exc:
        if violated_constraint(exc) != "customer_handle_uniq":
            raise
        owner = await customer_by_handle(org_id=org_id, platform=platform, handle=handle)
        if owner != customer_id:
            raise InputError([FieldError(ErrorCode.DUPLICATE, ("input", "handle"),
                                         "another customer has this handle")]) from None


async def customer_by_handle(*, org_id: int, platform: str, handle: str) -> int | None:
    """The live customer with this handle on ``platform``."""
    row = await fetch_one(
        "SELECT h.customer_id FROM customer_handle h JOIN customer c ON c.id = h.customer_id"
        " WHERE h.organization_id = $1 AND h.platform = $2 AND lower(h.handle) = lower($3)"
        " AND c.deleted_at IS NULL",
        [org_id, platform, handle],
    )
    return row["customer_id"] if row else None


async def customer_by_phone(*, org_id: int, phone: str) -> int | None:
    """The live customer with this E.164 number (the most recently updated, if several)."""
    row = await fetch_one(
        "SELECT id FROM customer WHERE organization_id = $1 AND phone = $2"
        " AND deleted_at IS NULL ORDER BY updated_at DESC, id DESC LIMIT 1",
        [org_id, phone],
    )
    return row["id"] if row else None


async def customer_by_email(*, org_id: int, email: str) -> int | None:
    """The live customer with this address (any case)."""
    row = await fetch_one(
        "SELECT id FROM customer WHERE organization_id = $1 AND lower(email) = lower($2)"
        " AND deleted_at IS NULL ORDER BY id LIMIT 1",
        [org_id, email],
    )
    return row["id"] if row else None


async def campaign_recipients(
    *, org_id: int, f: CustomerFilter, channel: Channel, limit: int
) -> list[int]:
    """Live customers matching ``f`` with a phone number who did not opt out of ``channel``."""
    source = customers.source(org_id, f)
    p = source.params
    rows = await fetch(
        f"SELECT t.id FROM {source.table} t WHERE {source.where} AND t.phone IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM channel_consent c WHERE c.customer_id = t.id"
        f" AND c.channel = {p.add(channel.value)} AND c.opted_out)"
        f" ORDER BY t.id LIMIT {p.add(limit)}",
        p.values,
    )
    return [row["id"] for row in rows]
