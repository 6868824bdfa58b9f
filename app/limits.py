"""Rate limits: a token bucket per user, per API key and (for anonymous callers) per client IP.

Buckets live in this process: with several workers each has its own, so the budget a caller
really gets is the configured one times the number of workers. Requests over the budget get
HTTP 429 with ``Retry-After`` before anything is parsed or executed (websocket handshakes count
too, and are refused). The bucket's state after a request is left in
``request.state.rate_limit`` (see ``Budget``) for response ``extensions``.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from auth import api_keys
from auth.identity import verified_claims
from core import metrics
from core.config import Settings
from db import api_key as keys

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
KEY_CACHE_SECONDS = 60.0  # how long a verified API key is trusted for bucket selection


@dataclass(frozen=True)
class Budget:
    """What is left of a caller's bucket after a request."""

    key: str
    limit: int
    remaining: int
    retry_after: int  # seconds until one more request is allowed (0: allowed now)

    @property
    def allowed(self) -> bool:
        """Whether the request may go ahead."""
        return self.retry_after == 0


class TokenBucketLimiter:
    """Token buckets refilling at ``rate`` per second up to ``burst``, for at most ``max_keys``."""

    def __init__(
        self, rate: float, burst: int, max_keys: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, cost: float = 1.0) -> Budget:
        """Take ``cost`` tokens from ``key``'s bucket if it has them."""
        now = self.clock()
        tokens, stamp = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
        retry_after = 0
        if tokens >= cost:
            tokens -= cost
        else:
            retry_after = max(1, math.ceil((cost - tokens) / self.rate))
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)  # the least recently used; a full bucket, likely
        return Budget(key, self.burst, int(tokens), retry_after)


class KeyVerifier:
    """Remembers briefly which API keys are real, so random keys cannot mint fresh buckets."""

    def __init__(self, max_keys: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_keys = max_keys
        self.clock = clock
        self._verified: OrderedDict[str, float] = OrderedDict()

    async def key_id(self, secret: str) -> str | None:
        """A bucket name for a usable key, None for an unknown, revoked or expired one."""
        digest = api_keys.hash_secret(secret)
        now = self.clock()
        checked = self._verified.get(digest)
        if checked is None or now - checked > KEY_CACHE_SECONDS:
            row = await keys.get_by_hash(digest)
            usable = row is not None and row["revoked_at"] is None
            if not usable or not _unexpired(row):
                self._verified.pop(digest, None)
                return None
            self._verified[digest] = now
            while len(self._verified) > self.max_keys:
                self._verified.popitem(last=False)
        return f"key:{digest[:32]}"


def _unexpired(row: dict[str, object] | None) -> bool:
    expires_at = (row or {}).get("expires_at")
    return not isinstance(expires_at, datetime) or expires_at > datetime.now(UTC)


def user_of(token: str, settings: Settings) -> str | None:
    """The user id a validly signed, unexpired access token names (no database needed)."""
    try:
        claims = verified_claims(token, settings)
    except jwt.InvalidTokenError:
        return None
    return str(claims["sub"]) if claims.get("typ") == "access" else None


class RateLimitMiddleware:
    """Charges every HTTP request and websocket handshake to its caller's bucket.

    Over budget, HTTP gets 429 and a websocket is refused before it is accepted.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.callers = TokenBucketLimiter(
            settings.rate_limit_per_second, settings.rate_limit_burst,
            settings.rate_limit_max_buckets,
        )
        self.anonymous = TokenBucketLimiter(
            settings.anonymous_rate_limit_per_second, settings.anonymous_rate_limit_burst,
            settings.rate_limit_max_buckets,
        )
        self.verifier = KeyVerifier(settings.rate_limit_max_buckets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        budget = await self.charge(scope)
        scope.setdefault("state", {})["rate_limit"] = budget
        if budget.allowed:
            await self.app(scope, receive, send)
            return
        metrics.rate_limit_rejected(scope["type"])
        if scope["type"] == "websocket":  # refused before the handshake: the client sees 403
            await send({"type": "websocket.close", "code": 1008, "reason": "rate limited"})
            return
        response = JSONResponse(
            {"errors": [{
                "message": f"rate limit exceeded: retry after {budget.retry_after} seconds",
                "extensions": {"code": "RATE_LIMITED", "retryAfter": budget.retry_after},
            }]},
            status_code=429, headers={"Retry-After": str(budget.retry_after)},
        )
        await response(scope, receive, send)

    async def charge(self, scope: Scope) -> Budget:
        """Take one request from the bucket of whoever ``scope`` comes from."""
        caller = await self.caller(scope)
        if caller is not None:
            return self.callers.take(caller)
        client = scope.get("client")
        return self.anonymous.take(f"ip:{client[0] if client else 'unknown'}")

    async def caller(self, scope: Scope) -> str | None:
        """``user:<id>`` or ``key:<hash>`` for proven credentials, None for anyone else."""
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        if api_keys.is_api_key(token):
            return await self.verifier.key_id(token)
        user = user_of(token, self.settings)
        return f"user:{user}" if user is not None else None


def budget_of(request: object) -> Budget | None:
    """The rate limit budget left after ``request`` (None when it was not limited)."""
    return getattr(getattr(request, "state", None), "rate_limit", None)
