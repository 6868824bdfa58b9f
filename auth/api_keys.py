"""API key credentials: the ``crm_live_`` format, hashing, and the viewer a key identifies."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auth.identity import Viewer, viewer_from_token
from auth.pii import PersonalFields
from auth.scopes import Scope
from core.config import Settings
from core.errors import AppError, ErrorCode
from db import api_key as keys
from db.enums import Role

PREFIX = "crm_live_"
SHOWN_PREFIX_LENGTH = len(PREFIX) + 6


@dataclass(frozen=True)
class NewKey:
    """A freshly made key: the secret (shown once) and what is stored of it."""

    secret: str
    prefix: str
    secret_hash: str


def is_api_key(token: str) -> bool:
    """Whether a bearer token is an API key rather than a user's access token."""
    return token.startswith(PREFIX)


def hash_secret(secret: str) -> str:
    """The stored form of a key: sha256 is right for 256 random bits (no guessing possible)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def generate() -> NewKey:
    """A new random key."""
    secret = PREFIX + secrets.token_urlsafe(32)
    return NewKey(secret, secret[:SHOWN_PREFIX_LENGTH], hash_secret(secret))


def _refuse(reason: str) -> AppError:
    return AppError(ErrorCode.UNAUTHENTICATED, reason)


def check(row: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """The key row if it is usable now; revoked, expired and unknown keys are refused."""
    if row is None:
        raise _refuse("invalid API key")
    if row["revoked_at"] is not None:
        raise _refuse("API key revoked")
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise _refuse("API key expired")
    return row


async def viewer_from_key(secret: str) -> Viewer:
    """The viewer an API key identifies (its organization and scopes), noting its use."""
    now = datetime.now(UTC)
    row = check(await keys.use_by_hash(hash_secret(secret), now), now)
    scopes = frozenset(str(s) for s in row["scopes"])
    role = Role.ADMIN if Scope.ADMIN in scopes else Role.VIEWER
    return Viewer(
        None, int(row["organization_id"]), role, int(row["id"]), scopes,
        personal_fields=PersonalFields(row["personal_custom_fields"] or (),
                                       row["personal_deal_fields"] or (),
                                       row["personal_company_fields"] or ()),
    )


async def viewer_for(token: str, settings: Settings) -> Viewer:
    """The viewer of a bearer token: an API key by its prefix, else a user's access token."""
    if is_api_key(token):
        return await viewer_from_key(token)
    return await viewer_from_token(token, settings)
