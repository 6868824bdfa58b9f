"""SMS and WhatsApp campaigns: one text or template to every consenting customer of a filter.

Each recipient's message goes through ``send_message`` (consent, quiet hours in the customer's
time zone, segments, the outbox), keyed ``<campaign key>:<customer id>`` so repeating the call
queues nothing twice; the provider's token bucket paces the sending. Campaigns are queued in
the request, so they are capped (``MAX_RECIPIENTS``): larger audiences are split by filter.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from db import channel_contact as contacts
from db import message_provider as providers
from db.channel_enums import MessageRefusal, MessageRefused
from db.customer_filter import CustomerFilter
from db.enums import Channel
from services.messaging.send import MessageRequest, check_idempotency_key, send_message

MAX_RECIPIENTS = 10_000
CAMPAIGN_CHANNELS = (Channel.SMS, Channel.WHATSAPP)


@dataclass(frozen=True)
class MessageCampaignRequest:
    """The input of ``sendMessageCampaign`` with ids decoded and the filter converted."""

    channel: Channel
    customer_filter: CustomerFilter
    text: str | None = None
    template_id: int | None = None
    variables: Any = field(default_factory=dict)
    idempotency_key: str | None = None


@dataclass
class CampaignResult:
    """How many customers matched, got a message queued, were skipped, or wait for morning."""

    matched: int = 0
    queued: int = 0
    skipped: int = 0
    held_for_quiet_hours: int = 0


def _refuse(name: str, message: str, code: MessageRefusal = MessageRefusal.BAD_USER_INPUT
            ) -> MessageRefused:
    return MessageRefused(code, ("input", name), message)


async def send_campaign(
    *, org_id: int, user_id: int | None, request: MessageCampaignRequest
) -> CampaignResult:
    """Queue the campaign's messages; refusals of single customers are counted, not raised."""
    if request.channel not in CAMPAIGN_CHANNELS:
        raise _refuse("channel", "campaigns go out on SMS or WHATSAPP")
    if await providers.for_channel(org_id=org_id, channel=request.channel) is None:
        raise _refuse("channel", f"no messaging provider is connected for"
                      f" {request.channel.value}", MessageRefusal.NO_PROVIDER)
    key = check_idempotency_key(request.idempotency_key) or uuid.uuid4().hex
    ids = await contacts.campaign_recipients(org_id=org_id, f=request.customer_filter,
                                             channel=request.channel, limit=MAX_RECIPIENTS + 1)
    if len(ids) > MAX_RECIPIENTS:
        raise _refuse("filter", f"more than {MAX_RECIPIENTS} customers match: narrow the filter")
    prefix = hashlib.sha256(key.encode()).hexdigest()[:32]
    result = CampaignResult(matched=len(ids))
    for customer_id in ids:
        try:
            row = await send_message(org_id=org_id, user_id=user_id, request=MessageRequest(
                customer_id=customer_id, channel=request.channel, text=request.text,
                template_id=request.template_id, variables=request.variables,
                idempotency_key=f"campaign:{prefix}:{customer_id}",
            ))
        except MessageRefused as exc:
            if exc.field[-1] in ("text", "templateId", "variables") and not result.queued:
                raise  # the content is wrong (for the first customer already): nothing queued
            result.skipped += 1
            continue
        result.queued += 1
        if row["status"] == "QUEUED" and row["available_at"] > row["created_at"]:
            result.held_for_quiet_hours += 1
    return result
