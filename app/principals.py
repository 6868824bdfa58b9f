"""Who a request is charged to: ``user:<id>`` or ``key:<id>`` for proven credentials, else
``ip:<address>``. Decided before anything is parsed, from the Authorization header alone (a
websocket that signs in with its ``connection_init`` payload moves to its viewer's budget)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime

import jwt
from starlette.types import Scope

from auth import api_keys
from auth.identity import Viewer, verified_claims
from core.config import Settings
from db import api_key as keys

KEY_CACHE_SECONDS = 60.0  # how long a verified API key is trusted for budget selection


class KeyVerifier:
    """Remembers briefly which API keys are real, so random keys cannot mint fresh budgets."""

    def __init__(self, max_keys: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_keys = max_keys
        self.clock = clock
        self._verified: OrderedDict[str, tuple[float, int]] = OrderedDict()

    async def key_id(self, secret: str) -> str | None:
        """A budget name for a usable key, None for an unknown, revoked or expired one."""
        digest = api_keys.hash_secret(secret)
        now = self.clock()
        checked, key_id = self._verified.get(digest, (None, 0))
        if checked is None or now - checked > KEY_CACHE_SECONDS:
            row = await keys.get_by_hash(digest)
            usable = row is not None and row["revoked_at"] is None
            if row is None or not usable or not _unexpired(row):
                self._verified.pop(digest, None)
                return None
            key_id = int(row["id"])
            self._verified[digest] = (now, key_id)
            while len(self._verified) > self.max_keys:
                self._verified.popitem(last=False)
        return f"key:{key_id}"


def _unexpired(row: dict[str, object] | None) -> bool:
    expires_at = (row or {}).get("expires_at")
    return not isinstance(expires_at, datetime) or expires_at > datetime.now(UTC)


def user_of(token: str, settings: Settings) -> str | None:
    """The user id a validly signed, unexpired access token names (no database needed; the
    signature is checked once per token, see ``verified_claims``)."""
    try:
        claims = verified_claims(token, settings)
    except jwt.InvalidTokenError:
        return None
    return str(claims["sub"]) if claims.get("typ") == "access" else None


class Callers:
    """Names the principal of a request's credentials."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = KeyVerifier(settings.rate_limit_max_buckets)

    async def principal(self, scope: Scope) -> str | None:
        """``user:<id>`` or ``key:<id>`` for proven credentials, None for anyone else."""
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        if api_keys.is_api_key(token):
            return await self.keys.key_id(token)
        user = user_of(token, self.settings)
        return f"user:{user}" if user is not None else None


def principal_of(viewer: Viewer) -> str | None:
    """The budget name of a signed-in viewer (the same as ``caller`` gives its credentials)."""
    if viewer.api_key_id is not None:
        return f"key:{viewer.api_key_id}"
    return f"user:{viewer.user_id}" if viewer.user_id is not None else None


def client_ip(scope: Scope) -> str:
    """The budget name of an anonymous caller: its client address."""
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"
