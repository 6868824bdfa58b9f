"""The signature helper receivers use: genuine and fresh requests only."""

from __future__ import annotations

import time

import pytest

from services.webhooks.signature import VerificationError, sign, signature_header, verify

SECRET = "whsec_" + "s" * 40
BODY = b'{"id":"x","type":"customer.created"}'


def _headers(timestamp: int, value: str) -> dict[str, str]:
    return {"Crm-Webhook-Timestamp": str(timestamp), "Crm-Webhook-Signature": value}


def test_a_signed_request_verifies_whatever_the_header_case() -> None:
    now = int(time.time())
    headers = _headers(now, sign(SECRET, now, BODY))
    verify(SECRET, headers, BODY)
    verify(SECRET, {k.lower(): v for k, v in headers.items()}, BODY)


def test_signature_is_hex_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1_700_000_000, BODY) == f"v1={expected}"


def test_a_tampered_body_is_refused() -> None:
    now = int(time.time())
    with pytest.raises(VerificationError, match="signature"):
        verify(SECRET, _headers(now, sign(SECRET, now, BODY)), BODY + b" ")


def test_another_secret_is_refused() -> None:
    now = int(time.time())
    with pytest.raises(VerificationError):
        verify("whsec_other" + "o" * 30, _headers(now, sign(SECRET, now, BODY)), BODY)


def test_an_old_or_future_timestamp_is_refused_even_if_signed() -> None:
    old = int(time.time()) - 301
    with pytest.raises(VerificationError, match="tolerance"):
        verify(SECRET, _headers(old, sign(SECRET, old, BODY)), BODY)
    future = int(time.time()) + 301
    with pytest.raises(VerificationError, match="tolerance"):
        verify(SECRET, _headers(future, sign(SECRET, future, BODY)), BODY)
    verify(SECRET, _headers(old, sign(SECRET, old, BODY)), BODY, tolerance=600)


def test_a_changed_timestamp_breaks_the_signature() -> None:
    now = int(time.time())
    with pytest.raises(VerificationError):
        verify(SECRET, _headers(now - 1, sign(SECRET, now, BODY)), BODY)


def test_missing_headers_are_refused() -> None:
    with pytest.raises(VerificationError, match="timestamp"):
        verify(SECRET, {}, BODY)
    with pytest.raises(VerificationError):
        verify(SECRET, {"Crm-Webhook-Timestamp": str(int(time.time()))}, BODY)


def test_during_rotation_either_secret_verifies() -> None:
    now = int(time.time())
    new = "whsec_" + "n" * 40
    value = signature_header([new, SECRET], now, BODY)
    assert len(value.split()) == 2
    verify(SECRET, _headers(now, value), BODY)
    verify(new, _headers(now, value), BODY)
