"""Provider credentials at rest: Fernet tokens keyed from the settings' secret key.

The key is derived (SHA-256 of a label and ``CRM_SECRET_KEY``), so rotating the secret key makes
stored credentials unreadable: they must be entered again (``updateMessageProvider``).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken

from core.config import Settings


def _fernet(settings: Settings) -> Fernet:
    digest = hashlib.sha256(b"crm-message-provider-credentials:" + settings.secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def seal(settings: Settings, credentials: dict[str, str]) -> str:
    """The encrypted form of ``credentials`` to store."""
    return _fernet(settings).encrypt(orjson.dumps(credentials)).decode()


def unseal(settings: Settings, token: str) -> dict[str, Any]:
    """Stored credentials decrypted; ValueError when the secret key no longer opens them."""
    try:
        data: dict[str, Any] = orjson.loads(_fernet(settings).decrypt(token.encode()))
    except InvalidToken:
        raise ValueError("stored credentials cannot be decrypted (secret key changed?)") from None
    return data
