"""The secrets of links sent by email: 256 random bits, only their SHA-256 is stored."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from auth.tokens import token_hash
from core.config import Settings

INVITATION_PREFIX = "crmi_"
RESET_PREFIX = "crmp_"
MAX_TOKEN_LENGTH = 200


def new_token(prefix: str) -> tuple[str, str]:
    """A fresh token and the hash to store."""
    token = prefix + secrets.token_urlsafe(32)
    return token, token_hash(token)


def hash_of(token: str, prefix: str) -> str | None:
    """The stored hash of a presented token; None when it cannot be one of ours."""
    if not token.startswith(prefix) or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token_hash(token)


def link(settings: Settings, page: str, token: str) -> str:
    """The console page that uses ``token`` (in the fragment: it never reaches a server log)."""
    return f"{settings.public_base_url.rstrip('/')}/console#/{page}?token={quote(token)}"
