"""Sending one message: checks, the preview (encoding, segments, quiet hours) and queueing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from db import channel_contact as contacts
from db import channel_message as messages
from db import customer as customers
from db import email_templates as templates
from db import message_provider as providers
from db.channel_enums import MESSAGING_CHANNELS, PHONE_CHANNELS, MessageRefusal, MessageRefused
from db.enums import Channel
from services.messaging import quiet, segments

MAX_IDEMPOTENCY_KEY = 200
MAX_TEXT = 1600  # ten concatenated GSM-7 segments and then some; providers refuse longer
_JINJA = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@dataclass(frozen=True)
class MessageRequest:
    """The input of ``sendMessage`` with ids already decoded."""

    customer_id: int
    channel: Channel
    text: str | None = None
    template_id: int | None = None
    variables: Any = field(default_factory=dict)
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Preview:
    """What would be sent, to whom, how, and when."""

    channel: Channel
    customer_id: int
    provider: dict[str, Any]
    recipient: str
    text: str
    count: segments.Segments
    scheduled_for: datetime | None
    time_zone: str | None


def _refuse(name: str, message: str, code: MessageRefusal = MessageRefusal.BAD_USER_INPUT
            ) -> NoReturn:
    raise MessageRefused(code, ("input", name), message)


async def _text(org_id: int, request: MessageRequest, customer: dict[str, Any]) -> str:
    variables = request.variables
    if not isinstance(variables, dict):
        _refuse("variables", "must be a JSON object")
    if request.template_id is None:
        if variables:
            _refuse("variables", "variables are only used with a templateId")
        text = (request.text or "").strip()
        if not text:
            _refuse("text", "give a text or a templateId")
    else:
        if request.text is not None:
            _refuse("text", "give either a templateId or a text, not both")
        found = (await templates.get_many(org_id=org_id, ids=[request.template_id])).get(
            request.template_id)
        if found is None or not found["text"]:
            _refuse("templateId", "template not found (or it has no text body)",
                    MessageRefusal.NOT_FOUND)
        fields = {k: customer.get(k) for k in ("name", "email", "phone", "company", "city")}
        try:
            text = _JINJA.from_string(found["text"]).render(customer=fields, **variables).strip()
        except TemplateError as exc:
            _refuse("templateId", f"the template cannot be rendered: {exc}",
                    MessageRefusal.TEMPLATE_ERROR)
    if len(text) > MAX_TEXT:
        _refuse("text", f"must be at most {MAX_TEXT} characters")
    return text


async def _recipient(channel: Channel, customer: dict[str, Any]) -> str:
    if channel in PHONE_CHANNELS:
        if not customer["phone"]:
            _refuse("customerId", "the customer has no phone number", MessageRefusal.NO_ADDRESS)
        return str(customer["phone"])
    handle = await contacts.latest_handle(customer_id=customer["id"])
    if handle is None:
        _refuse("customerId", f"the customer has no handle to reach on {channel.value}",
                MessageRefusal.NO_ADDRESS)
    return f"{handle['platform']}:{handle['handle']}"


async def preview(*, org_id: int, request: MessageRequest) -> Preview:
    """Check a message without queueing it: recipient, consent, encoding, quiet hours."""
    if request.channel not in MESSAGING_CHANNELS:
        _refuse("channel", "send email with sendEmail; MEETING and NOTE are only logged")
    customer = (await customers.get_many(org_id=org_id, ids=[request.customer_id])).get(
        request.customer_id)
    if customer is None:
        _refuse("customerId", "customer not found", MessageRefusal.NOT_FOUND)
    provider = await providers.for_channel(org_id=org_id, channel=request.channel)
    if provider is None:
        _refuse("channel", f"no messaging provider is connected for {request.channel.value}",
                MessageRefusal.NO_PROVIDER)
    recipient = await _recipient(request.channel, customer)
    if await contacts.opted_out(customer_id=customer["id"], channel=request.channel):
        _refuse("customerId", f"the customer opted out of {request.channel.value}",
                MessageRefusal.OPTED_OUT)
    text = await _text(org_id, request, customer)
    scheduled_for, zone_name = None, None
    if request.channel in PHONE_CHANNELS:
        zone = quiet.zone_of(customer["phone"], provider["time_zone"])
        zone_name = zone.key
        scheduled_for = quiet.held_until(datetime.now(UTC), zone,
                                         provider["quiet_hours_start"],
                                         provider["quiet_hours_end"])
    return Preview(channel=request.channel, customer_id=customer["id"], provider=provider,
                   recipient=recipient, text=text, count=segments.count(text),
                   scheduled_for=scheduled_for, time_zone=zone_name)


def check_idempotency_key(key: str | None) -> str | None:
    """A usable idempotency key (printable, at most 200 characters) or None."""
    if key is not None and (not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY
                            or not key.isprintable()):
        _refuse("idempotencyKey", f"must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters")
    return key


async def send_message(
    *, org_id: int, user_id: int | None, request: MessageRequest
) -> dict[str, Any]:
    """Queue one message; returns its delivery row (the earlier one on a repeated key)."""
    key = check_idempotency_key(request.idempotency_key)
    if key is not None:
        earlier = await messages.get_by_idempotency_key(org_id=org_id, key=key)
        if earlier is not None:
            return earlier
    if not await customers.hold_live(org_id=org_id, customer_id=request.customer_id):
        _refuse("customerId", "customer not found", MessageRefusal.NOT_FOUND)
    found = await preview(org_id=org_id, request=request)
    metadata: dict[str, Any] = {
        "to": found.recipient, "provider": found.provider["name"],
        "encoding": found.count.encoding, "segments": found.count.segments,
    }
    if found.scheduled_for is not None:
        metadata["heldForQuietHoursUntil"] = found.scheduled_for.isoformat()
    return await messages.queue(
        org_id=org_id, user_id=user_id, idempotency_key=key,
        message=messages.QueuedMessage(
            customer_id=found.customer_id, provider_id=found.provider["id"],
            channel=found.channel, recipient=found.recipient, text=found.text,
            encoding=found.count.encoding, segments=found.count.segments,
            available_at=found.scheduled_for, metadata=metadata,
        ),
    )
