"""The generic webhook provider: documented JSON both ways, signed with HMAC-SHA256.

Outbound, the CRM posts ``{"id", "channel", "to", "from", "text", "statusCallback"}`` to the
provider's URL and expects a 2xx answer, optionally ``{"id": "<its message id>"}``. Inbound
webhooks post JSON to the provider's inbound URL (README: "Connecting a messaging provider").
Both directions sign the body: ``X-CRM-Timestamp`` (Unix seconds) and ``X-CRM-Signature:
sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the provider's secret>``; a
signature older than five minutes is refused (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import orjson

from services.messaging.provider import (
    Accepted,
    Outgoing,
    ProviderConfig,
    ProviderError,
    SignedRequest,
    client_of,
    error_of,
)

SIGNATURE_HEADER = "x-crm-signature"
TIMESTAMP_HEADER = "x-crm-timestamp"
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """Headers that sign ``body`` now."""
    timestamp = int(time.time() if now is None else now)
    return {"Content-Type": "application/json", "X-CRM-Timestamp": str(timestamp),
            "X-CRM-Signature": sign(secret, timestamp, body)}


class Generic:
    """Any platform reachable through a small JSON webhook (chat widgets, social bridges)."""

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient | None) -> None:
        self.config = config
        self.http = http
        self.secret = str(config.credentials.get("secret", ""))

    async def send(self, message: Outgoing) -> Accepted:
        """Post the message; the answer's ``id`` (or our reference) names it from then on."""
        body = orjson.dumps({
            "id": message.reference, "channel": message.channel.value, "to": message.recipient,
            "from": message.sender, "text": message.text,
            "statusCallback": message.status_callback,
        })
        try:
            response = await client_of(self.http).post(
                self.config.base_url, content=body, headers=signed_headers(self.secret, body)
            )
        except httpx.TimeoutException:
            raise ProviderError("the provider did not answer in time", permanent=False) from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"cannot reach the provider: {exc}", permanent=False) from None
        if not 200 <= response.status_code < 300:
            raise error_of(response)
        try:
            data = response.json()
            provider_id = str(data["id"]) if isinstance(data, dict) and data.get("id") else None
        except ValueError:
            provider_id = None
        return Accepted(provider_message_id=provider_id or message.reference)

    def verify(self, request: SignedRequest) -> bool:
        """Whether the body is signed with the secret, within the last five minutes."""
        stamp = request.headers.get(TIMESTAMP_HEADER, "")
        offered = request.headers.get(SIGNATURE_HEADER, "")
        if not self.secret or not stamp.isdigit() or not offered:
            return False
        if abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
            return False
        expected = sign(self.secret, int(stamp), request.body)
        return hmac.compare_digest(offered.encode(), expected.encode())
