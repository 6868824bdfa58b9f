"""A Twilio-compatible provider: its REST API for SMS, WhatsApp and calls, and its signatures.

Messages: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`` (form: To, From,
Body, StatusCallback) with HTTP basic auth (AccountSid, AuthToken). WhatsApp numbers carry the
``whatsapp:`` prefix. Calls: ``.../Calls.json`` (To, From, Twiml saying the text,
StatusCallback and its events). Webhooks are signed with ``X-Twilio-Signature``: base64 of
HMAC-SHA1 keyed with the AuthToken over the URL followed by every form parameter, sorted by
name, as name then value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import httpx

from db.enums import Channel
from services.messaging.provider import (
    Accepted,
    Outgoing,
    ProviderConfig,
    ProviderError,
    SignedRequest,
    client_of,
    error_of,
)

SIGNATURE_HEADER = "x-twilio-signature"
CALL_EVENTS = ("initiated", "ringing", "answered", "completed")


def signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """The X-Twilio-Signature of a webhook posted to ``url`` with these form parameters."""
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def address(channel: Channel, number: str) -> str:
    """A number as Twilio expects it on ``channel``."""
    if channel == Channel.WHATSAPP and not number.startswith("whatsapp:"):
        return f"whatsapp:{number}"
    return number


class Twilio:
    """Twilio's REST API (or a compatible one at another base URL)."""

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient | None) -> None:
        self.config = config
        self.http = http
        self.token = str(config.credentials.get("authToken", ""))

    def _url(self, resource: str) -> str:
        base = self.config.base_url.rstrip("/")
        return f"{base}/2010-04-01/Accounts/{self.config.account_id}/{resource}.json"

    async def send(self, message: Outgoing) -> Accepted:
        """Create a Message (SMS, WhatsApp) or a Call (PHONE: the text is spoken)."""
        form: list[tuple[str, str]] = [
            ("To", address(message.channel, message.recipient)),
            ("From", address(message.channel, message.sender)),
            ("StatusCallback", message.status_callback),
        ]
        if message.channel == Channel.PHONE:
            form.append(("Twiml", f"<Response><Say>{escape(message.text)}</Say></Response>"))
            form.extend(("StatusCallbackEvent", event) for event in CALL_EVENTS)
            resource = "Calls"
        else:
            form.append(("Body", message.text))
            resource = "Messages"
        try:
            response = await client_of(self.http).post(
                self._url(resource), content=urlencode(form),
                auth=(self.config.account_id, self.token),
                headers={"I-Twilio-Idempotency-Token": message.reference,
                         "Content-Type": "application/x-www-form-urlencoded"},
            )
        except httpx.TimeoutException:
            raise ProviderError("the provider did not answer in time", permanent=False) from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"cannot reach the provider: {exc}", permanent=False) from None
        if response.status_code not in (200, 201):
            raise error_of(response)
        try:
            sid = response.json()["sid"]
        except (ValueError, KeyError, TypeError):
            raise ProviderError("the provider's answer has no sid", permanent=False) from None
        return Accepted(provider_message_id=str(sid))

    def verify(self, request: SignedRequest) -> bool:
        """Whether the webhook carries a valid X-Twilio-Signature."""
        offered = request.headers.get(SIGNATURE_HEADER, "")
        if not offered or not self.token:
            return False
        expected = signature(self.token, request.url, request.form)
        return hmac.compare_digest(offered.encode(), expected.encode())
