"""Webhook signatures: how we sign deliveries and how receivers verify them.

``Crm-Webhook-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`` where the
timestamp is the ``Crm-Webhook-Timestamp`` header (unix seconds) and the body the raw request
bytes. During a secret rotation the header carries one ``v1=`` value per valid secret,
separated by spaces; a receiver accepts the request if any of them matches its secret.
This module has no dependency on the rest of the app: receivers may copy it as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

ID_HEADER = "Crm-Webhook-Id"
TIMESTAMP_HEADER = "Crm-Webhook-Timestamp"
SIGNATURE_HEADER = "Crm-Webhook-Signature"
VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


class VerificationError(Exception):
    """The request is not a genuine, fresh delivery."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1=<hex>`` signature of ``body`` sent at ``timestamp`` with ``secret``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{VERSION}={mac.hexdigest()}"


def signature_header(secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    """The signature header value: one signature per secret, space-separated."""
    return " ".join(sign(secret, timestamp, body) for secret in secrets)


def verify(
    secret: str, headers: Mapping[str, str], body: bytes,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS, now: float | None = None,
) -> None:
    """Raise VerificationError unless ``body`` was signed with ``secret`` within ``tolerance``.

    ``headers`` may use any case for the names. The timestamp window stops replays of an old
    captured request; deduplicate on ``Crm-Webhook-Id`` for retries within the window.
    """
    lower = {name.lower(): value for name, value in headers.items()}
    stamp = lower.get(TIMESTAMP_HEADER.lower(), "")
    given = lower.get(SIGNATURE_HEADER.lower(), "")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise VerificationError("missing or malformed timestamp") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise VerificationError("timestamp outside the tolerance window")
    expected = sign(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in given.split()):
        raise VerificationError("no matching signature")
