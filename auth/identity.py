"""Passwords (argon2), signed access tokens (JWT) and the viewer they identify."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from auth.pii import PersonalFields
from auth.scopes import ROLE_SCOPES, Scope
from core.config import Settings
from core.errors import AppError, ErrorCode
from db import user as users
from db.enums import ROLE_RANK, Role
from db.user import DEFAULT_PII_ROLES, pii_roles

# The viewer of a verified access token, with its user's role and active flag as last read:
# a request within ``viewer_cache_seconds`` of the last read skips the signature check and the
# statement (a deactivated user or a changed role takes effect in every process within that
# time); the token's own expiry is still checked on every request.
VIEWER_CACHE_SIZE = 10_000
_ACTIVE: dict[str, tuple[float, float, Viewer]] = {}
EXPIRED = "access token expired: get a new one with the refreshToken mutation, or log in again"
_SIGNED: dict[str, tuple[str, dict[str, Any]]] = {}  # verified tokens: (key, claims)
# Users whose access just changed (deactivated, role changed): until the time given their row is
# read on every request, so a change still committing is not cached as it was before it.
_UNSETTLED: dict[int, float] = {}
SETTLE_SECONDS = 10.0
# When each user's access last changed in this process (monotonic): an open websocket signed in
# before it serves that user no more events
_CHANGED: dict[int, float] = {}
ALGORITHM = "HS256"
ISSUER = "crm"
_hasher = PasswordHasher()
# Verified when the email is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class Viewer:
    """Who is making the request: a signed-in user, or an API key, of one organization."""

    user_id: int | None
    organization_id: int
    role: Role
    api_key_id: int | None = None
    key_scopes: frozenset[str] = frozenset()
    # the organization's privacy settings as last read (cached with the viewer)
    pii_roles: frozenset[Role] = DEFAULT_PII_ROLES
    personal_fields: frozenset[str] = frozenset()

    def can(self, role: Role) -> bool:
        """Whether the viewer's role includes ``role``."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def is_key(self) -> bool:
        """Whether an API key (not a person) is calling."""
        return self.api_key_id is not None

    @property
    def reads_pii(self) -> bool:
        """Whether personal data is shown to this viewer unmasked: keys with ``pii:read``,
        users whose role is one of the organization's PII roles."""
        if self.is_key:
            return Scope.PII_READ in self.key_scopes
        return self.role in self.pii_roles

    def has_scope(self, scope: str) -> bool:
        """Whether the key has ``scope``, or the user's role implies it."""
        if self.is_key:
            return scope in self.key_scopes
        if scope == Scope.PII_READ:
            return self.reads_pii
        return scope in ROLE_SCOPES[self.role]


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def invalid_credentials() -> AppError:
    return AppError(ErrorCode.UNAUTHENTICATED, "invalid email or password")


async def authenticate(email: str, password: str) -> dict[str, object]:
    """The active user with these credentials; one uniform error otherwise."""
    row = await users.get_for_login(email.strip()[:254])
    stored = str(row["password_hash"]) if row else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        raise invalid_credentials() from None
    if row is None or not row["is_active"]:
        raise invalid_credentials()
    rehash = hash_password(password) if _hasher.check_needs_rehash(stored) else None
    await users.record_login(int(row["id"]), rehash)
    return row


def issue_token(user: dict[str, object], settings: Settings) -> str:
    """A signed access token for ``user`` that expires after the configured lifetime."""
    now = datetime.now(UTC)
    claims = {
        "sub": str(user["id"]),
        "org": user["organization_id"],
        "iss": ISSUER,
        "iat": now,
        "exp": now + timedelta(seconds=settings.access_token_ttl_seconds),
        "typ": "access",
        # the user's token epoch: a deactivation ends it (see viewer_from_token)
        "gen": int(str(user.get("token_epoch") or 0)),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


async def viewer_from_token(token: str, settings: Settings) -> Viewer:
    """The viewer a bearer token identifies; expired, forged or stale tokens are refused."""
    known = _ACTIVE.get(token)
    if known is not None and known[0] > time.monotonic():
        if known[1] <= time.time():  # as jwt.decode checks ``exp``
            raise AppError(ErrorCode.UNAUTHENTICATED, EXPIRED)
        return known[2]
    try:
        claims = verified_claims(token, settings)
        user_id = int(claims["sub"])
    except jwt.ExpiredSignatureError:
        raise AppError(ErrorCode.UNAUTHENTICATED, EXPIRED) from None
    except (jwt.InvalidTokenError, ValueError):
        raise AppError(ErrorCode.UNAUTHENTICATED, "invalid access token") from None
    if claims.get("typ") != "access":
        raise AppError(ErrorCode.UNAUTHENTICATED, "invalid access token")
    row = await users.get_active(user_id)
    if row is None or row["organization_id"] != claims["org"]:
        raise AppError(ErrorCode.UNAUTHENTICATED, "invalid access token")
    if claims.get("gen", 0) != row["token_epoch"]:  # issued before a deactivation
        raise AppError(ErrorCode.UNAUTHENTICATED, "invalid access token")
    viewer = Viewer(
        int(row["id"]), int(row["organization_id"]), Role(row["role"]),
        pii_roles=pii_roles(row["pii_roles"]),
        personal_fields=PersonalFields(row["personal_custom_fields"] or (),
                                       row["personal_deal_fields"] or (),
                                       row["personal_company_fields"] or ()),
    )
    if settings.viewer_cache_seconds > 0 and not _unsettled(viewer.user_id):
        deadline = time.monotonic() + settings.viewer_cache_seconds
        _ACTIVE[token] = (deadline, float(claims["exp"]), viewer)
        if len(_ACTIVE) > VIEWER_CACHE_SIZE:
            _ACTIVE.pop(next(iter(_ACTIVE)))  # the oldest entry
    return viewer


def verified_claims(token: str, settings: Settings) -> dict[str, Any]:
    """The claims of a token this server signed, as ``jwt.decode`` checks them.

    The signature is checked once per token (a bounded cache keeps the claims of tokens that
    passed); the expiry is checked on every call, and raises ``jwt.ExpiredSignatureError``.
    """
    known = _SIGNED.get(token)
    if known is None or known[0] != settings.secret_key:
        claims: dict[str, Any] = jwt.decode(
            token, settings.secret_key, algorithms=[ALGORITHM], issuer=ISSUER,
            options={"require": ["sub", "exp", "iat", "org"]},
        )
        _SIGNED[token] = (settings.secret_key, claims)
        if len(_SIGNED) > VIEWER_CACHE_SIZE:
            _SIGNED.pop(next(iter(_SIGNED)))  # the oldest entry
        return claims
    if float(known[1]["exp"]) <= time.time():
        raise jwt.ExpiredSignatureError("Signature has expired")
    return known[1]


def forget_viewers() -> None:
    """Drop every cached viewer (the next request of each user reads its row again)."""
    _ACTIVE.clear()


def forget_user(user_id: int) -> None:
    """Drop one user's cached viewers: its next request, in this process, reads its row again
    (a deactivated user's access tokens fail at once). Called where the change is made and,
    through ``db.team.USER_CHANNEL``, in every process when it commits."""
    for token, (_, _, viewer) in list(_ACTIVE.items()):
        if viewer.user_id == user_id:
            _ACTIVE.pop(token, None)
    now = time.monotonic()
    _UNSETTLED[user_id] = now + SETTLE_SECONDS
    _CHANGED.pop(user_id, None)
    _CHANGED[user_id] = now
    if len(_CHANGED) > VIEWER_CACHE_SIZE:
        _CHANGED.pop(next(iter(_CHANGED)))  # the oldest change


def changed_since(user_id: int | None, moment: float) -> bool:
    """Whether the user's access changed (``forget_user``) after ``moment`` (monotonic)."""
    return user_id is not None and _CHANGED.get(user_id, float("-inf")) > moment


def _unsettled(user_id: int | None) -> bool:
    if user_id is None or user_id not in _UNSETTLED:
        return False
    if _UNSETTLED[user_id] > time.monotonic():
        return True
    del _UNSETTLED[user_id]
    return False
