"""The ASGI application: GraphQL at /graphql (app/view.py), GraphiQL assets, health checks,
middleware."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import channel_routes, email_routes, mailbox_routes, metrics_route, security_headers
from app.console import routes as console_routes
from app.graphiql import graphiql_routes
from app.limits import RateLimitMiddleware
from app.observe import RequestIdMiddleware
from app.unavailable import DatabaseUnavailableMiddleware
from app.view import CrmGraphQL
from auth import tokens
from core import database, tracing
from core.config import Settings, get_settings
from core.errors import ErrorCode
from ml.jobs import prediction_service
from services.email import mailbox, outbox
from services.live import pubsub
from services.messaging import outbox as channel_outbox
from services.webhooks import delivery as webhook_delivery

log = logging.getLogger("crm.app")

Service = Callable[[Starlette, Settings], AbstractAsyncContextManager[None]]
# Started in order when the app starts, stopped in reverse order when it stops.
GC_YOUNG_THRESHOLD = 50_000
SERVICES: list[Service] = []
SERVICES.append(pubsub.service)
SERVICES.append(mailbox.service)  # before the outbox worker that may send to it
SERVICES.append(outbox.service)
SERVICES.append(channel_outbox.service)
SERVICES.append(prediction_service)
SERVICES.append(tokens.service)
SERVICES.append(webhook_delivery.service)
SERVICES.append(metrics_route.pool_sampler)


class BodySizeLimitMiddleware:
    """Refuses request bodies over the configured size with 413, before anything parses them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._reject(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {"errors": [{"message": f"request body over {self.max_bytes} bytes",
                         "extensions": {"code": ErrorCode.BAD_USER_INPUT.value}}]},
            status_code=413,
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


async def healthz(request: Request) -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The database answers and every migration is applied."""
    state: Any = request.app.state
    try:
        # bounded: a load balancer's probe must get its answer while the database is away
        async with asyncio.timeout(state.settings.db_connect_timeout_seconds + 1):
            pending = await database.pending_migrations(state.database_url, state.settings)
    except Exception:
        log.warning("readiness check failed", exc_info=True)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    if pending:
        return JSONResponse({"status": "unavailable", "pendingMigrations": pending}, 503)
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None, database_url: str | None = None) -> Starlette:
    """The ASGI app; it connects to ``database_url`` (default: the configured one) on startup."""
    settings = settings or get_settings()
    url = database_url or settings.database_url
    if url is None:
        raise RuntimeError("DATABASE_URL is not set (crm serve starts an embedded database)")

    tracing.configure(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await database.connect(url, settings)
        try:
            async with AsyncExitStack() as services:
                # background services of this process (listeners, workers) start here
                for service in SERVICES:
                    await services.enter_async_context(service(app, settings))
                # The schema, ORM and libraries are ~120k long-lived objects that every full
                # garbage collection would scan again (~75 ms each, several per second under
                # load); freezing them leaves collections to what requests allocate.
                gc.collect()
                gc.freeze()
                # A bulk call allocates a few hundred thousand objects that live through the
                # request: at the default threshold (700) they were scanned by ~2,000 young and
                # dozens of full collections per 40 calls (~30 ms a call); at 50,000 by a few.
                gc.set_threshold(GC_YOUNG_THRESHOLD)
                yield
        finally:
            await database.disconnect()
            metrics_route.forget_process(settings)

    graphql = CrmGraphQL(settings)
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *graphiql_routes(),
            *console_routes(),
            *email_routes.routes(),
            *channel_routes.routes(),
            *mailbox_routes.routes(settings),
            *metrics_route.routes(settings),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(DatabaseUnavailableMiddleware),
            *security_headers.middleware(settings),
            Middleware(RateLimitMiddleware, settings=settings),
            Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database_url = url
    app.state.compiler = graphql.compiler
    app.state.fanout = graphql.fanout
    return app
