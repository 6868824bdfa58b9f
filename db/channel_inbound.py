"""Received messages and call events: recorded once per provider id, as INBOUND interactions.

Each webhook a provider sends is keyed by the id it carries (a message's id; a call event's call
id, status and recording): a retried webhook finds its key taken and records nothing more. The
interaction insert is what streams it to ``interactionCreated`` subscribers (the interaction
triggers of migrations/0004), in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db import channel_contact as contacts
from db import validation
from db.enums import Channel, LifecycleStage
from db.models import Customer
from db.sql import client, fetch_one


@dataclass(frozen=True)
class Sender:
    """Who wrote: a phone number, or a handle on a platform (with what else the platform knows)."""

    phone: str | None = None
    platform: str | None = None
    handle: str | None = None
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    """A received message, as any provider's webhook describes it."""

    provider: dict[str, Any]
    external_id: str
    channel: Channel
    sender: Sender
    text: str
    occurred_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # opt-out (True) or opt-in (False) on the channel, when the text is such a keyword
    consent: bool | None = None


@dataclass(frozen=True)
class Recorded:
    """What an inbound webhook came to: the interaction, whether new, the customer."""

    interaction_id: int | None
    customer_id: int | None
    created: bool


async def _claim_key(conn: BaseDBAsyncClient, provider_id: int, key: str) -> bool:
    row = await fetch_one(
        "INSERT INTO channel_inbound (provider_id, external_id, received_at)"
        " VALUES ($1, $2, now()) ON CONFLICT (provider_id, external_id) DO NOTHING RETURNING id",
        [provider_id, key], conn,
    )
    return row is not None


async def _seen(provider_id: int, key: str) -> Recorded:
    row = await fetch_one(
        "SELECT r.interaction_id, i.customer_id FROM channel_inbound r"
        " LEFT JOIN interaction i ON i.id = r.interaction_id"
        " WHERE r.provider_id = $1 AND r.external_id = $2",
        [provider_id, key],
    )
    return Recorded(row["interaction_id"] if row else None,
                    row["customer_id"] if row else None, False)


async def match(provider: dict[str, Any], sender: Sender) -> int | None:
    """The customer who wrote: by phone, by handle on the platform, then by email."""
    org_id = provider["organization_id"]
    if sender.phone:
        found = await contacts.customer_by_phone(org_id=org_id, phone=sender.phone)
        if found is not None:
            return found
    if sender.platform and sender.handle:
        found = await contacts.customer_by_handle(
            org_id=org_id, platform=sender.platform, handle=sender.handle)
        if found is not None:
            return found
    if sender.email:
        return await contacts.customer_by_email(org_id=org_id, email=sender.email)
    return None


async def _lead(conn: BaseDBAsyncClient, provider: dict[str, Any], sender: Sender) -> int:
    """A new LEAD for an unknown sender (when the provider's organization wants them)."""
    name = sender.name or sender.handle or sender.phone or sender.email or "Unknown sender"
    try:
        email = validation.email(sender.email) if sender.email else None
    except ValueError:
        email = None
    customer = await Customer.create(
        using_db=conn, organization_id=provider["organization_id"], name=name[:200],
        phone=sender.phone, email=email, stage=LifecycleStage.LEAD,
        tags=["inbound-lead"],
    )
    return int(customer.id)


async def _link(conn: BaseDBAsyncClient, provider: dict[str, Any], customer_id: int,
                sender: Sender) -> None:
    """Remember the sender's handle for the customer (unless some customer has it already)."""
    if sender.platform and sender.handle:
        await client(conn).execute_query(
            "INSERT INTO customer_handle (organization_id, customer_id, platform, handle,"
            " created_at) VALUES ($1, $2, $3, $4, now()) ON CONFLICT DO NOTHING",
            [provider["organization_id"], customer_id, sender.platform, sender.handle],
        )


async def _last_outbound(conn: BaseDBAsyncClient, customer_id: int, channel: Channel
                         ) -> int | None:
    row = await fetch_one(
        "SELECT interaction_id FROM channel_message WHERE customer_id = $1 AND channel = $2"
        " ORDER BY id DESC LIMIT 1", [customer_id, channel.value], conn,
    )
    return row["interaction_id"] if row else None


async def record_message(message: InboundMessage) -> Recorded:
    """Record a received message once; unknown senders become leads if the provider says so.

    Returns ``Recorded(None, None, False)`` for an unknown sender the organization does not
    want as a lead (nothing recorded, so a later retry, once the customer exists, is).
    """
    provider = message.provider
    customer_id = await match(provider, message.sender)
    if customer_id is None and not provider["create_leads"]:
        return Recorded(None, None, False)
    async with in_transaction() as conn:
        if not await _claim_key(conn, provider["id"], message.external_id):
            return await _seen(provider["id"], message.external_id)
        if customer_id is None:
            customer_id = await _lead(conn, provider, message.sender)
        await _link(conn, provider, customer_id, message.sender)
        metadata = dict(message.metadata)
        reply_to = await _last_outbound(conn, customer_id, message.channel)
        if reply_to is not None:
            metadata["inReplyToInteractionId"] = reply_to
        if message.consent is not None:
            await contacts.set_consent(
                org_id=provider["organization_id"], customer_id=customer_id,
                channel=message.channel, opted_out=message.consent,
                source=f"{'STOP' if message.consent else 'START'} reply", using=conn)
            metadata["event"] = "optOut" if message.consent else "optIn"
        interaction_id = await _insert(conn, provider["organization_id"], customer_id,
                                       message.channel, message.text, message.occurred_at,
                                       metadata)
        await client(conn).execute_query(
            "UPDATE channel_inbound SET interaction_id = $3 WHERE provider_id = $1"
            " AND external_id = $2", [provider["id"], message.external_id, interaction_id])
    return Recorded(interaction_id, customer_id, True)


async def _insert(conn: BaseDBAsyncClient, org_id: int, customer_id: int, channel: Channel,
                  text: str, occurred_at: datetime | None, metadata: dict[str, Any]) -> int:
    row = await fetch_one(
        "INSERT INTO interaction (organization_id, customer_id, channel, direction, body,"
        " occurred_at, metadata, created_at)"
        " VALUES ($1, $2, $3, 'INBOUND', $4, coalesce($5::timestamptz, now()), $6::jsonb, now())"
        " RETURNING id",
        [org_id, customer_id, channel.value, text, occurred_at, metadata], conn,
    )
    assert row is not None
    return int(row["id"])


@dataclass(frozen=True)
class CallEvent:
    """One status report of a call the provider carried."""

    provider: dict[str, Any]
    call_id: str
    event_key: str  # unique per report (call id, status, recording)
    inbound: bool
    caller: Sender
    changes: dict[str, Any]  # merged into the interaction's metadata
    summary: str


async def record_call_event(event: CallEvent, outbound_interaction: int | None) -> Recorded:
    """Record one call event: the call's interaction is created by its first, updated after."""
    try:
        return await _record_call_event(event, outbound_interaction)
    except _Unknown:
        return Recorded(None, None, False)


class _Unknown(Exception):
    """The caller is unknown and no lead is wanted: nothing of the event is kept."""


async def _record_call_event(event: CallEvent, outbound_interaction: int | None) -> Recorded:
    provider = event.provider
    async with in_transaction() as conn:
        if not await _claim_key(conn, provider["id"], event.event_key):
            return await _seen(provider["id"], event.event_key)
        call = await fetch_one(
            "SELECT r.interaction_id FROM channel_inbound r"
            " WHERE r.provider_id = $1 AND r.external_id = $2 AND r.interaction_id IS NOT NULL",
            [provider["id"], f"call:{event.call_id}"], conn,
        ) if outbound_interaction is None else {"interaction_id": outbound_interaction}
        if call is None:
            recorded = await _new_call(conn, event)
        else:
            row = await fetch_one(
                "UPDATE interaction SET metadata = metadata || $2::jsonb, body = $3"
                " WHERE id = $1 RETURNING id, customer_id",
                [call["interaction_id"], event.changes, event.summary], conn,
            )
            assert row is not None
            recorded = Recorded(row["id"], row["customer_id"], False)
        await client(conn).execute_query(
            "UPDATE channel_inbound SET interaction_id = $3 WHERE provider_id = $1"
            " AND external_id = $2", [provider["id"], event.event_key, recorded.interaction_id])
    return recorded


async def _new_call(conn: BaseDBAsyncClient, event: CallEvent) -> Recorded:
    """The interaction of a call first heard of (the caller matched, or a new lead)."""
    provider = event.provider
    customer_id = await match(provider, event.caller)
    if customer_id is None and not provider["create_leads"]:
        raise _Unknown
    if customer_id is None:
        customer_id = await _lead(conn, provider, event.caller)
    interaction_id = await _insert(
        conn, provider["organization_id"], customer_id, Channel.PHONE, event.summary,
        None, {"callId": event.call_id, **event.changes})
    await client(conn).execute_query(
        "INSERT INTO channel_inbound (provider_id, external_id, interaction_id,"
        " received_at) VALUES ($1, $2, $3, now())",
        [provider["id"], f"call:{event.call_id}", interaction_id])
    return Recorded(interaction_id, customer_id, True)
