"""Shared, cost-based rate limits: a budget of points per window for every user, API key and
anonymous client IP, held across processes and machines (``services/rate_limit``).

A request is charged the points of its computed query cost (``points_for``: one per 100, at
least one) once that cost is known, before anything executes: by the compiled path through
``charge_now`` and by the generic executor through ``charge`` (app/query_cost.py), so both charge
alike. A request that never gets a cost (a parse error, GraphiQL's page, other routes) costs one
point; a websocket costs one point to open and each operation started on it its cost.

Before anything is parsed the middleware refuses callers whose budget is spent (HTTP 429 with
``Retry-After``; websocket handshakes are closed). Every response carries ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` (seconds); a request refused once its cost is
known gets 429 too, with a GraphQL error coded ``RATE_LIMITED``.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.principals import Callers, client_ip, principal_of
from auth.identity import Viewer
from core import metrics
from core.config import Settings
from services.rate_limit.ledger import Account, Budget, Ledger, points_for
from services.rate_limit.stores import open_store

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
RATE_LIMITED = "RATE_LIMITED"


class Unpaid(Exception):
    """The compiled path cannot charge without waiting for the store: the generic path will."""


class Meter:
    """What one request (or one websocket) is charged, against its principal's account."""

    def __init__(self, ledger: Ledger, account: Account, settings: Settings, socket: bool):
        self.ledger = ledger
        self.account = account
        self.max_cost = settings.query_max_cost
        self.caller_limit = settings.rate_limit_points
        self.per_operation = socket  # a websocket pays for every operation started on it
        self.charged = False
        self.retry_after = 0  # once refused: the seconds told in the error and in Retry-After

    def points(self, cost: int) -> int | None:
        """What an operation of ``cost`` is charged, None when it is not charged by its cost
        (over the cost limit it is refused, and pays the minimum like any refused request)."""
        if (self.charged and not self.per_operation) or cost > self.max_cost:
            return None
        points = points_for(cost)
        self.account.expected = points
        return points

    def charge_now(self, cost: int) -> None:
        """Charge from what the account holds without waiting; raises ``Unpaid`` when it cannot."""
        points = self.points(cost)
        if points is None:
            return
        if not self.ledger.spend(self.account, points):
            raise Unpaid
        self.charged = True

    async def charge(self, cost: int) -> bool:
        """Charge an operation of ``cost``; False when the budget cannot pay for it."""
        points = self.points(cost)
        if points is None:
            return True
        self.charged = await self.ledger.charge(self.account, points)
        if not self.charged:
            self.refuse()
        return self.charged

    def refuse(self) -> None:
        """Mark the request refused, fixing the ``Retry-After`` it is told."""
        self.retry_after = self.ledger.budget(self.account, refused=True).retry_after

    @property
    def refused(self) -> bool:
        """Whether the request was refused for its budget."""
        return self.retry_after > 0

    def renew(self, viewer: Viewer | None) -> None:
        """A websocket's account for its next operation: its viewer's once ``connection_init``
        signed in (the handshake was its address's), and a fresh one after the window ended."""
        principal = principal_of(viewer) if viewer is not None else None
        if principal is None:
            self.account = self.ledger.account(self.account.principal, self.account.limit)
        else:
            self.account = self.ledger.account(principal, self.caller_limit)
        self.retry_after = 0

    def settle(self) -> None:
        """Charge the one point every request costs when nothing was charged yet."""
        if not self.charged:
            self.ledger.spend(self.account, min(1, self.account.lease))
            self.charged = True

    @property
    def budget(self) -> Budget:
        """The budget left after this request."""
        return self.ledger.budget(self.account, retry_after=self.retry_after)

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The RateLimit-* headers (and ``Retry-After`` when refused) of the response."""
        budget = self.budget
        headers = [
            (b"ratelimit-limit", str(budget.limit).encode()),
            (b"ratelimit-remaining", str(budget.remaining).encode()),
            (b"ratelimit-reset", str(budget.reset).encode()),
        ]
        if not budget.allowed:
            headers.append((b"retry-after", str(budget.retry_after).encode()))
        return headers


def meter_of(context: Any) -> Meter | None:
    """The meter of the request a GraphQL context serves (None outside HTTP and websockets)."""
    state = getattr(getattr(context, "request", None), "state", None)
    meter = getattr(state, "rate_limit", None)
    return meter if isinstance(meter, Meter) else None


def charge_now(context: Any, cost: int) -> None:
    """Charge a compiled operation (see ``Meter.charge_now``)."""
    meter = meter_of(context)
    if meter is not None:
        meter.charge_now(cost)


async def charge(context: Any, cost: int) -> GraphQLError | None:
    """Charge a valid operation of ``cost`` before it runs; the error refusing it if over budget."""
    meter = meter_of(context)
    if meter is None:
        return None
    if meter.per_operation:
        meter.renew(getattr(context, "viewer", None))
    if await meter.charge(cost):
        return None
    return rate_limited(meter.budget)


def rate_limited(budget: Budget) -> GraphQLError:
    """The error for a request over its budget."""
    return GraphQLError(
        f"rate limit exceeded: retry after {budget.retry_after} seconds",
        extensions={"code": RATE_LIMITED, "retryAfter": budget.retry_after},
    )


class RateLimitMiddleware:
    """Meters every HTTP request and websocket of a caller against its budget.

    A caller whose budget is spent gets HTTP 429, or its websocket is refused, before anything
    is parsed. Responses get the RateLimit-* headers; one refused later, once its cost was
    known (``charge``), is turned into a 429 with ``Retry-After``.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.ledger = Ledger(
            open_store(settings), window_seconds=settings.rate_limit_window_seconds,
            slice_points=settings.rate_limit_slice_points,
            max_accounts=settings.rate_limit_max_buckets,
        )
        self.callers = Callers(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        meter = await self.meter(scope)
        scope.setdefault("state", {})["rate_limit"] = meter
        if not await self.ledger.admit(meter.account):
            meter.refuse()
            await self.refuse(meter, scope, receive, send)
            return
        if scope["type"] == "websocket":
            meter.settle()  # opening a socket costs a point; each operation its own cost
            await self.app(scope, receive, send)
            return

        async def send_with_budget(message: Message) -> None:
            if message["type"] == "http.response.start":
                meter.settle()
                message = {
                    **message, "status": 429 if meter.refused else message["status"],
                    "headers": [*message.get("headers", ()), *meter.headers()],
                }
            await send(message)

        await self.app(scope, receive, send_with_budget)

    async def meter(self, scope: Scope) -> Meter:
        """A meter on the account of whoever ``scope`` comes from."""
        principal = await self.callers.principal(scope)
        if principal is not None:
            account = self.ledger.account(principal, self.settings.rate_limit_points)
        else:
            account = self.ledger.account(
                client_ip(scope), self.settings.anonymous_rate_limit_points
            )
        return Meter(self.ledger, account, self.settings, socket=scope["type"] == "websocket")

    @staticmethod
    async def refuse(meter: Meter, scope: Scope, receive: Receive, send: Send) -> None:
        """429 before anything is parsed; a websocket is closed before it is accepted."""
        metrics.rate_limit_rejected(scope["type"])
        if scope["type"] == "websocket":  # the client sees 403
            await send({"type": "websocket.close", "code": 1008, "reason": "rate limited"})
            return
        error = rate_limited(meter.budget)
        response = JSONResponse({"errors": [error.formatted]}, status_code=429)
        response.raw_headers.extend(meter.headers())
        await response(scope, receive, send)


def budget_of(request: object) -> Budget | None:
    """The budget left after ``request`` (None when it was not metered)."""
    meter = getattr(getattr(request, "state", None), "rate_limit", None)
    if not isinstance(meter, Meter):
        return None
    meter.settle()
    return meter.budget
