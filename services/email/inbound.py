"""Reading raw RFC 822 messages posted by a mail gateway: replies and delivery reports."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser
from email.utils import parsedate_to_datetime
from typing import Any

from services.email.templates import html_to_text

MAX_SUBJECT = 500


class Malformed(ValueError):
    """A message that cannot be recorded; the text says why (sent back with a 4xx)."""


@dataclass(frozen=True)
class Bounce:
    """A delivery status notification about one of our messages."""

    original_message_id: str
    recipient: str | None
    permanent: bool
    detail: str


@dataclass(frozen=True)
class Inbound:
    """The parts of a received message the CRM records."""

    sender: str
    sender_name: str
    subject: str | None
    text: str
    message_id: str
    references: list[str] = field(default_factory=list)
    sent_at: datetime | None = None
    bounce: Bounce | None = None


def _ids(value: Any) -> list[str]:
    return [f"<{part.strip('<>')}>" for part in str(value or "").replace(",", " ").split()
            if part.strip("<>")]


def _sender(msg: EmailMessage) -> Address:
    header = msg["From"]
    if header is None:
        raise Malformed("the message has no From header")
    addresses: tuple[Address, ...] = tuple(getattr(header, "addresses", ()))
    if len(addresses) != 1 or "@" not in addresses[0].addr_spec:
        raise Malformed("the From header must hold exactly one address")
    return addresses[0]


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    try:
        content = body.get_content()
    except (LookupError, ValueError, AssertionError) as exc:
        raise Malformed(f"the body cannot be decoded: {exc}") from None
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if body.get_content_subtype() == "html" else content


def _date(msg: EmailMessage) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(str(msg["Date"])) if msg["Date"] else None
    except (TypeError, ValueError):
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _bounce(msg: EmailMessage) -> Bounce | None:
    """The delivery report inside a multipart/report message, if it is one (RFC 3464)."""
    if msg.get_content_type() != "multipart/report":
        return None
    status: Message | None = None
    original: str | None = None
    for part in msg.walk():
        kind = part.get_content_type()
        payload: Any = part.get_payload()
        if kind == "message/delivery-status" and isinstance(payload, list) and payload:
            status = payload[-1]  # the per-recipient block follows the per-message one
        elif kind == "message/rfc822" and isinstance(payload, list) and payload:
            original = str(payload[0].get("Message-ID") or "") or original
        elif kind == "text/rfc822-headers":
            raw: Any = part.get_payload(decode=True) or b""
            headers = HeaderParser().parsestr(bytes(raw).decode("utf-8", "replace"))
            original = str(headers.get("Message-ID") or "") or original
    if status is None or not original:
        return None
    code = str(status.get("Status") or "")
    action = str(status.get("Action") or "").lower()
    recipient = str(status.get("Final-Recipient") or "").partition(";")[2].strip() or None
    detail = " ".join(str(status.get("Diagnostic-Code") or f"{action} {code}").split())
    return Bounce(_ids(original)[0], recipient,
                  permanent=action == "failed" or code.startswith("5"), detail=detail)


def parse(raw: bytes) -> Inbound:
    """The recordable parts of a raw message; Malformed says what is wrong with it."""
    if not raw.strip():
        raise Malformed("the request body is empty; post the raw RFC 822 message")
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(msg, EmailMessage)
        bounce = _bounce(msg)
        sender = _sender(msg) if bounce is None else Address(addr_spec="mailer-daemon@invalid")
        subject = " ".join(str(msg["Subject"] or "").split())[:MAX_SUBJECT] or None
        message_ids = _ids(msg["Message-ID"])
    except (ValueError, IndexError, TypeError) as exc:
        raise Malformed(f"the headers cannot be parsed: {exc}") from None
    # without a Message-ID, a hash of the message still lets gateway retries be recognised
    message_id = message_ids[0] if message_ids else (
        f"<{hashlib.sha256(raw).hexdigest()[:40]}@inbound.invalid>"
    )
    return Inbound(
        sender=sender.addr_spec, sender_name=sender.display_name, subject=subject,
        text=_text(msg), message_id=message_id[:300],
        references=[*_ids(msg["In-Reply-To"]), *reversed(_ids(msg["References"]))],
        sent_at=_date(msg), bounce=bounce,
    )
