"""Outbound email: MIME building and SMTP delivery with aiosmtplib over a reused connection."""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr

import aiosmtplib

from core import tracing
from core.config import Settings

DEFAULT_PORTS = {"none": 25, "starttls": 587, "implicit": 465}
# a connection idle this long is checked with NOOP before use (servers drop idle clients)
IDLE_CHECK_SECONDS = 10.0


@dataclass(frozen=True)
class Outgoing:
    """Everything that goes into one message."""

    sender: str
    recipient: str
    recipient_name: str | None
    subject: str
    text: str
    html: str
    message_id: str
    unsubscribe_url: str | None = None


def sender_address(settings: Settings) -> tuple[str, str]:
    """The display name and address of the configured ``SMTP_FROM``."""
    return parseaddr(settings.smtp_from)


def new_message_id(sender: str) -> str:
    """A fresh, globally unique Message-ID in the sender's domain."""
    domain = sender.rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


def build(message: Outgoing, settings: Settings) -> bytes:
    """A multipart/alternative MIME message (UTF-8 names and subject encoded per RFC 2047)."""
    name, address = sender_address(settings)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(display_name=name, addr_spec=address)
    msg["To"] = Address(display_name=message.recipient_name or "", addr_spec=message.recipient)
    msg["Subject"] = message.subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message.message_id
    if message.unsubscribe_url:
        # RFC 8058: mail clients offer one-click unsubscribe by POSTing to this URL
        msg["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(message.text, subtype="plain", charset="utf-8")
    msg.add_alternative(message.html, subtype="html", charset="utf-8")
    return msg.as_bytes(policy=SMTP)


class DeliveryError(Exception):
    """A failed delivery: permanent ones (5xx replies) are not retried."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def classify(exc: BaseException) -> DeliveryError:
    """A delivery error for an aiosmtplib or network exception."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        return DeliveryError(text or str(exc), permanent=any(500 <= c < 600 for c in codes))
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError | aiosmtplib.SMTPConnectResponseError):
        # the server or our credentials are at fault, not this message: keep retrying
        return DeliveryError(f"{exc.code} {exc.message}", permanent=False)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return DeliveryError(f"{exc.code} {exc.message}", permanent=500 <= exc.code < 600)
    if isinstance(exc, TimeoutError):
        return DeliveryError(f"timeout: {exc}", permanent=False)
    return DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False)


# errors that are a server's answer: the connection is still in a known state
_REPLIES = (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused)


class Mailer:
    """One SMTP connection, opened on first use and reused for the messages that follow."""

    def __init__(self, settings: Settings, tls_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.tls_context = tls_context
        self._smtp: aiosmtplib.SMTP | None = None
        self._last_used = 0.0

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.smtp_host, port=s.smtp_port or DEFAULT_PORTS[s.smtp_tls],
            username=s.smtp_username, password=s.smtp_password,
            use_tls=s.smtp_tls == "implicit", start_tls=s.smtp_tls == "starttls",
            timeout=s.smtp_timeout_seconds, tls_context=self.tls_context,
        )

    async def _connected(self) -> aiosmtplib.SMTP:
        smtp = self._smtp
        if smtp is not None and smtp.is_connected:
            if time.monotonic() - self._last_used < IDLE_CHECK_SECONDS:
                return smtp
            try:
                await smtp.noop()
                return smtp
            except (aiosmtplib.SMTPException, OSError):
                await self.close()
        smtp = self._client()
        await smtp.connect()
        self._smtp = smtp
        return smtp

    async def send(self, *, sender: str, recipient: str, mime: bytes) -> str:
        """Deliver one message; returns the server's reply, raises DeliveryError."""
        try:
            with tracing.span("smtp.send", {"server.address": self.settings.smtp_host},
                              kind="client"):
                smtp = await self._connected()
                _, reply = await smtp.sendmail(sender, [recipient], mime)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            error = classify(exc)
            if not isinstance(exc, _REPLIES):
                await self.close()  # the connection's state is unknown after a network error
            raise error from exc
        self._last_used = time.monotonic()
        return reply

    def drop(self) -> None:
        """Drop the connection without a word (its conversation was cut off midway)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            smtp.close()

    async def close(self) -> None:
        """Say QUIT (or just drop the connection if the server is gone)."""
        smtp, self._smtp = self._smtp, None
        if smtp is None or not smtp.is_connected:
            return
        try:
            await asyncio.wait_for(smtp.quit(), timeout=5)
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            smtp.close()
