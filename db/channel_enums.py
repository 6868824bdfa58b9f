"""Enumerations of messaging channels (SMS, WhatsApp, calls, chat, social), shared with the API."""

from __future__ import annotations

from enum import StrEnum

from db.enums import Channel


class MessageStatus(StrEnum):
    """Where an outbound message is on its way to the customer."""

    QUEUED = "QUEUED"
    SENDING = "SENDING"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class ProviderKind(StrEnum):
    """How the CRM talks to a messaging provider."""

    TWILIO = "TWILIO"  # the Twilio REST API (or a compatible one): SMS, WhatsApp, calls
    WEBHOOK = "WEBHOOK"  # a generic JSON webhook signed with HMAC-SHA256: chat, social, anything


class MessageRefusal(StrEnum):
    """Why a message was not queued (the codes of ``SendMessagePayload.errors``)."""

    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    NO_ADDRESS = "NO_ADDRESS"
    OPTED_OUT = "OPTED_OUT"
    NO_PROVIDER = "NO_PROVIDER"
    TEMPLATE_ERROR = "TEMPLATE_ERROR"


# Channels the CRM sends and receives through a provider (PHONE: calls).
MESSAGING_CHANNELS = (Channel.SMS, Channel.WHATSAPP, Channel.CHAT, Channel.SOCIAL, Channel.PHONE)
# Channels addressed by phone number (E.164).
PHONE_CHANNELS = (Channel.SMS, Channel.WHATSAPP, Channel.PHONE)
# Statuses a worker may still pick up (QUEUED when due, SENDING when its lease ran out).
PENDING = (MessageStatus.QUEUED, MessageStatus.SENDING)


class MessageRefused(Exception):
    """A message refused for a reason the client can act on."""

    def __init__(self, code: MessageRefusal, field: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message
