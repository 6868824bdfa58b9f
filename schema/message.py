"""Messaging channels in the API: providers, sendMessage and its preview, deliveries, consent."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from db.channel_enums import MessageRefusal, MessageStatus, ProviderKind
from db.sql import Row
from schema.customer import Customer, CustomerFilter
from schema.enums import Channel
from schema.errors import UserError
from schema.interaction import Interaction
from schema.node import to_global_id

strawberry.enum(MessageStatus, description="QUEUED, SENDING, SENT (the provider took it), "
                "DELIVERED (its receipt says so) or FAILED (see lastError).")
strawberry.enum(ProviderKind, description="TWILIO: a Twilio-compatible REST API (SMS, WhatsApp,"
                " calls); WEBHOOK: the generic signed JSON webhook (chat, social, anything).")
strawberry.enum(MessageRefusal, name="MessageErrorCode", description=(
    "Why a message was refused: the general codes plus NO_ADDRESS (no phone number or handle),"
    " OPTED_OUT, NO_PROVIDER (none connected for the channel) and TEMPLATE_ERROR."
))


@strawberry.type(description="A mistake in the input or a reason nothing was sent.")
class MessageError:
    code: MessageRefusal
    field: list[str] | None = strawberry.field(
        description='Path to the input field, e.g. ["input", "customerId"]; null for the whole.'
    )
    message: str

    @classmethod
    def from_user_error(cls, error: UserError) -> MessageError:
        return cls(code=MessageRefusal(error.code.value), field=error.field,
                   message=error.message)


@strawberry.type(description="Where an outbound SMS, WhatsApp, call, chat or social message is.")
class MessageDelivery:
    channel: Channel
    recipient: str = strawberry.field(description="E.164 number, or platform:handle.")
    status: MessageStatus
    attempts: int
    last_error: str | None
    provider_message_id: str | None = strawberry.field(
        description="The provider's id of the message (a Twilio SID ...)."
    )
    encoding: str = strawberry.field(description="GSM7 or UCS2.")
    segments: int
    not_before: datetime | None = strawberry.field(
        description="While QUEUED: when it may go out (quiet hours, a retry's backoff)."
    )
    sent_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: Row) -> MessageDelivery:
        queued = row["status"] == MessageStatus.QUEUED
        return cls(
            channel=row["channel"], recipient=row["recipient"],
            status=MessageStatus(row["status"]), attempts=row["attempts"],
            last_error=row["last_error"], provider_message_id=row["provider_message_id"],
            encoding=row["encoding"], segments=row["segments"],
            not_before=row["available_at"] if queued else None, sent_at=row["sent_at"],
            delivered_at=row["delivered_at"],
        )


@strawberry.type(description="What sendMessage would send, computed before sending.")
class MessagePreview:
    channel: Channel
    recipient: str
    provider: str = strawberry.field(description="The name of the provider that would send it.")
    text: str = strawberry.field(description="The text, rendered from the template if one.")
    encoding: str = strawberry.field(description="GSM7, or UCS2 when a character needs it.")
    characters: int = strawberry.field(description="GSM-7 septets or UCS-2 code units.")
    segments: int = strawberry.field(description="SMS segments it is sent (and billed) as.")
    per_segment: int = strawberry.field(description="Capacity of each segment (160/153, 70/67).")
    remaining_in_segment: int
    time_zone: str | None = strawberry.field(description="The customer's, for quiet hours.")
    scheduled_for: datetime | None = strawberry.field(
        description="Set inside quiet hours: when it would go out."
    )


@strawberry.type(description="A connected messaging provider (its credentials are never shown).")
class MessageProvider:
    id: strawberry.ID
    name: str
    kind: ProviderKind
    channels: list[Channel]
    base_url: str
    account_id: str
    sender: str = strawberry.field(description="The number or handle messages come from.")
    rate_per_second: float
    rate_burst: int
    quiet_hours_start: int | None = strawberry.field(description="Local hour quiet hours begin.")
    quiet_hours_end: int | None
    time_zone: str = strawberry.field(description="Used when a number tells no time zone.")
    create_leads: bool = strawberry.field(description="Unknown senders become LEAD customers.")
    inbound_urls: list[str] = strawberry.field(
        description="Webhook URLs to configure at the provider (they carry a secret key)."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row, base_url: str) -> MessageProvider:
        base = f"{base_url.rstrip('/')}/inbound/channels/{row['inbound_key']}"
        urls = ([f"{base}/twilio/message", f"{base}/twilio/status", f"{base}/twilio/call"]
                if row["kind"] == ProviderKind.TWILIO else [f"{base}/webhook"])
        return cls(
            id=to_global_id("MessageProvider", row["id"]), name=row["name"],
            kind=ProviderKind(row["kind"]), channels=row["channels"], base_url=row["base_url"],
            account_id=row["account_id"], sender=row["sender"],
            rate_per_second=row["rate_per_second"], rate_burst=row["rate_burst"],
            quiet_hours_start=row["quiet_hours_start"], quiet_hours_end=row["quiet_hours_end"],
            time_zone=row["time_zone"], create_leads=row["create_leads"], inbound_urls=urls,
            created_at=row["created_at"], updated_at=row["updated_at"],
        )


@strawberry.input(description="One message to a customer: a text, or a templateId.")
class SendMessageInput:
    customer_id: strawberry.ID
    channel: Channel = strawberry.field(description="SMS, WHATSAPP, PHONE (a call that speaks"
                                        " the text), CHAT or SOCIAL.")
    text: str | None = None
    template_id: strawberry.ID | None = strawberry.field(
        default=None, description="An email template whose text body is rendered (Jinja2)."
    )
    variables: JSON | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="Repeating a call with the same key sends nothing more."
    )


@strawberry.input(description="A provider to connect.")
class CreateMessageProviderInput:
    name: str
    kind: ProviderKind
    channels: list[Channel]
    sender: str = strawberry.field(description="TWILIO: the E.164 number; else a handle.")
    secret: str = strawberry.field(description="TWILIO: the Auth Token; WEBHOOK: the HMAC key.")
    base_url: str | None = strawberry.field(
        default=None, description="TWILIO: defaults to https://api.twilio.com; WEBHOOK: required."
    )
    account_id: str = strawberry.field(default="", description="TWILIO: the Account SID.")
    rate_per_second: float = 10.0
    rate_burst: int = 20
    quiet_hours_start: int | None = None
    quiet_hours_end: int | None = None
    time_zone: str = "UTC"
    create_leads: bool = False


@strawberry.input(description="Changes to a provider; omitted fields stay.")
class UpdateMessageProviderInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    channels: list[Channel] | None = strawberry.UNSET
    sender: str | None = strawberry.UNSET
    secret: str | None = strawberry.UNSET
    base_url: str | None = strawberry.UNSET
    account_id: str | None = strawberry.UNSET
    rate_per_second: float | None = strawberry.UNSET
    rate_burst: int | None = strawberry.UNSET
    quiet_hours_start: int | None = strawberry.UNSET
    quiet_hours_end: int | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET
    create_leads: bool | None = strawberry.UNSET


@strawberry.input(description="A customer's opt-out (or opt-in again) on one channel.")
class SetChannelConsentInput:
    customer_id: strawberry.ID
    channel: Channel
    opted_out: bool


@strawberry.input(description="A customer's name on a social platform or chat widget.")
class AddCustomerHandleInput:
    customer_id: strawberry.ID
    platform: str = strawberry.field(description="e.g. instagram, facebook, chat.")
    handle: str


@strawberry.input(description="An SMS or WhatsApp campaign: one text or template to the"
                  " consenting customers (with a phone number) matching a filter.")
class SendMessageCampaignInput:
    channel: Channel
    filter: CustomerFilter | None = None
    text: str | None = None
    template_id: strawberry.ID | None = None
    variables: JSON | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="Repeating a call with the same key queues nothing twice."
    )


@strawberry.type(description="What a message campaign queued.")
class MessageCampaignPayload:
    matched: int = strawberry.field(default=0, description="Consenting customers with a number.")
    queued: int = 0
    skipped: int = strawberry.field(default=0, description="Refused one by one (e.g. opted out"
                                    " meanwhile).")
    held_for_quiet_hours: int = strawberry.field(
        default=0, description="Queued, but waiting for quiet hours to end in their zone."
    )
    errors: list[MessageError] = strawberry.field(default_factory=list)


@strawberry.type
class SendMessagePayload:
    interaction: Interaction | None = None
    message: MessageDelivery | None = None
    errors: list[MessageError] = strawberry.field(default_factory=list)
    warnings: list[str] = strawberry.field(default_factory=list)


@strawberry.type
class MessagePreviewPayload:
    preview: MessagePreview | None = None
    errors: list[MessageError] = strawberry.field(default_factory=list)


@strawberry.type
class MessageProviderPayload:
    provider: MessageProvider | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CustomerChannelPayload:
    customer: Customer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
