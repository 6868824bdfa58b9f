"""Enumerations of customer email, shared by the database and the API (same names)."""

from enum import StrEnum


class EmailStatus(StrEnum):
    """Where an outbound email is on its way to the customer."""

    QUEUED = "QUEUED"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    BOUNCED = "BOUNCED"


class EmailKind(StrEnum):
    """Who an outbound email is for: a customer (recorded as an interaction) or a user."""

    CUSTOMER = "CUSTOMER"
    INVITATION = "INVITATION"
    PASSWORD_RESET = "PASSWORD_RESET"  # noqa: S105 (a purpose, not a password)
    TASK_DIGEST = "TASK_DIGEST"


class CampaignStatus(StrEnum):
    """QUEUEING while workers still add emails in batches, then QUEUED (or CANCELLED)."""

    QUEUEING = "QUEUEING"
    QUEUED = "QUEUED"
    CANCELLED = "CANCELLED"


class SuppressionReason(StrEnum):
    """Why an address must not be emailed."""

    UNSUBSCRIBED = "UNSUBSCRIBED"
    BOUNCED = "BOUNCED"


# Statuses a worker may still pick up (QUEUED when due, SENDING when its lease ran out).
PENDING = (EmailStatus.QUEUED, EmailStatus.SENDING)


class Refusal(StrEnum):
    """Why an email was not queued (the codes of ``SendEmailPayload.errors``)."""

    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    NO_EMAIL_ADDRESS = "NO_EMAIL_ADDRESS"
    OPTED_OUT = "OPTED_OUT"
    TEMPLATE_ERROR = "TEMPLATE_ERROR"
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"


class EmailRefused(Exception):
    """An email (or template, or campaign) refused for a reason the client can act on."""

    def __init__(self, code: Refusal, field: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message
