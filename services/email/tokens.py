"""Signed unsubscribe tokens: they name an organization's customer and cannot be forged."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from core.config import Settings

_PURPOSE = b"crm-unsubscribe-v1"
_SIGNATURE_BYTES = 16


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.secret_key.encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def sign(settings: Settings, org_id: int, customer_id: int) -> str:
    """An unsubscribe token for one customer of one organization (it does not expire)."""
    payload = f"{org_id}.{customer_id}".encode()
    signature = hmac.new(_key(settings), payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return f"{_b64(payload)}.{_b64(signature)}"


def read(settings: Settings, token: str) -> tuple[int, int] | None:
    """The (organization id, customer id) a token names, or None if it is forged or malformed."""
    if len(token) > 200 or token.count(".") != 1:
        return None
    encoded_payload, encoded_signature = token.split(".")
    try:
        payload = base64.urlsafe_b64decode(encoded_payload + "=" * (-len(encoded_payload) % 4))
        signature = base64.urlsafe_b64decode(
            encoded_signature + "=" * (-len(encoded_signature) % 4)
        )
    except (binascii.Error, ValueError):
        return None
    expected = hmac.new(_key(settings), payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    if not hmac.compare_digest(signature, expected):
        return None
    org_text, _, customer_text = payload.decode("ascii", "replace").partition(".")
    if not (org_text.isdigit() and customer_text.isdigit()):
        return None
    return int(org_text), int(customer_text)


def unsubscribe_url(settings: Settings, org_id: int, customer_id: int) -> str:
    """The public one-click unsubscribe URL of a customer."""
    base = settings.public_base_url.rstrip("/")
    return f"{base}/unsubscribe/{sign(settings, org_id, customer_id)}"
