"""The ASGI application: GraphQL at /graphql, GraphiQL assets, health checks, middleware."""

from __future__ import annotations

import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, NoReturn

import jwt
import orjson
import strawberry
from cross_web import AsyncHTTPRequestAdapter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from app import email_routes, security_headers
from app.graphiql import graphiql_html, graphiql_routes
from app.graphql import build_compiler, build_schema
from app.limits import RateLimitMiddleware, budget_of
from app.live import LegacyWSHandler, TransportWSHandler
from app.query_cost import cost_of
from auth import tokens
from auth.api_keys import is_api_key, viewer_for
from auth.context import Context
from core import database
from core.config import Settings, get_settings
from core.errors import AppError, ErrorCode
from ml.jobs import prediction_service
from services.email import outbox
from services.live import fanout, pubsub
from services.webhooks import delivery as webhook_delivery

log = logging.getLogger("crm.app")
access_log = logging.getLogger("crm.access")
REQUEST_ID_HEADER = "x-request-id"

Service = Callable[[Starlette, Settings], AbstractAsyncContextManager[None]]
# Started in order when the app starts, stopped in reverse order when it stops.
SERVICES: list[Service] = []
SERVICES.append(pubsub.service)
SERVICES.append(outbox.service)
SERVICES.append(prediction_service)
SERVICES.append(tokens.service)
SERVICES.append(webhook_delivery.service)


class RequestIdMiddleware:
    """Gives every request an id (or keeps a sane one sent by a proxy) and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if incoming.isalnum() and len(incoming) <= 64 else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # the access log: never the query string (GET /graphql carries variables in it)
            access_log.info(
                "%s %s %s %.1fms request=%s", scope.get("method", "WS"), scope["path"],
                status or "-", (time.perf_counter() - started) * 1000, request_id,
            )


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


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header (None when absent)."""
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AppError(ErrorCode.UNAUTHENTICATED, "Authorization must be 'Bearer <token>'")
    return token.strip()


@dataclass
class SocketContext(Context):
    """A websocket's context: also the ``connection_init`` payload and when its token expires."""

    connection_params: dict[str, object] | None = None
    token_expires_at: float | None = None


class SocketAdapter(ASGIWebSocketAdapter):
    """Sends JSON as text frames (browser clients parse strings) and closes a socket only once."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

    async def send_text(self, text: str) -> None:
        """Send an already encoded message (a fan-out group's shared payload)."""
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            await self.ws.close(code=code, reason=reason)


class CompiledMismatch(AssertionError):
    """A compiled answer differed from the generic executor's (raised in tests only)."""


class CrmGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context, JSON encoder and offline GraphiQL."""

    websocket_adapter_class = SocketAdapter
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, settings: Settings) -> None:
        super().__init__(build_schema(settings), keep_alive=True, keep_alive_interval=15)
        self.settings = settings
        schema = self.schema
        assert isinstance(schema, strawberry.Schema)
        self.compiler = build_compiler(schema, settings) if settings.compiled_queries else None
        self._ide_html = graphiql_html()
        self.fanout = fanout.Fanout()

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """A query from its compiled plan when there is one (the same bytes), else Strawberry's
        executor."""
        generic = partial(
            super().execute_single, request, request_adapter, sub_response, context, root_value,
            request_data,
        )
        if self.compiler is None:
            return await generic()
        data = await self.compiler.execute(
            request_data.query, request_data.operation_name, request_data.variables, context
        )
        if data is None:
            return await generic()
        if self.settings.compiled_verify:
            await self._verify(data, await generic(), request_data)
        return ExecutionResult(data=data, errors=None)

    async def _verify(
        self, data: dict[str, object], generic: ExecutionResult, request_data: GraphQLRequestData
    ) -> None:
        """Compare a compiled answer with the generic executor's, byte for byte."""
        expected = orjson.dumps({
            "data": generic.data, "errors": [e.formatted for e in generic.errors or ()],
        })
        if orjson.dumps({"data": data, "errors": []}) == expected:
            return
        assert self.compiler is not None
        self.compiler.counts["mismatch"] += 1
        log.error("compiled answer differs from the generic one for %.300s", request_data.query)
        if self.settings.env == "test":
            raise CompiledMismatch(request_data.query or "")

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        kind = SocketContext if isinstance(request, WebSocket) else Context
        context = kind(
            request=request, response=response, settings=self.settings,
            request_id=request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex,
        )
        try:
            token = bearer_token(request.headers)
            if token is not None:
                context.viewer = await viewer_for(token, self.settings)
        except AppError as exc:
            context.auth_error = exc
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a websocket by ``{"Authorization": "Bearer <token>"}`` in connection_init.

        The handshake's Authorization header also counts; without either the socket is closed.
        """
        params = getattr(context, "connection_params", None) or {}
        given = next((v for k, v in params.items() if k.lower() == "authorization"), None)
        try:
            if given is not None:
                context.viewer = context.auth_error = None
                token = bearer_token({"authorization": str(given)}) or ""
                context.viewer = await viewer_for(token, self.settings)
            elif context.viewer is None and context.auth_error is None:
                raise AppError(ErrorCode.UNAUTHENTICATED, 'connection_init payload needs'
                               ' {"Authorization": "Bearer <token>"}')
            context.require_viewer()
        except AppError as exc:
            await _reject_socket(self, context.request, exc)
        if isinstance(context, SocketContext) and given is not None and not is_api_key(
            str(given).split()[-1]
        ):
            claims = jwt.decode(str(given).split()[-1], options={"verify_signature": False})
            context.token_expires_at = float(claims["exp"])
        return UnsetType()

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(self._ide_html)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        for error in response.get("errors") or ():
            # documents that fail to parse never reach the schema's error policy
            if isinstance(error, dict):
                error.setdefault("extensions", {}).setdefault("code", "GRAPHQL_VALIDATION_FAILED")
        # integrators pace themselves by these instead of guessing
        pacing: dict[str, object] = {}
        cost = cost_of(request)
        if cost is not None:
            pacing["cost"] = {"requested": cost, "limit": self.settings.query_max_cost}
        budget = budget_of(request)
        if budget is not None:
            pacing["rateLimit"] = {"limit": budget.limit, "remaining": budget.remaining}
        if pacing:
            response["extensions"] = {**(response.get("extensions") or {}), **pacing}
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


async def _reject_socket(
    view: CrmGraphQL, socket: Request | WebSocket, error: AppError
) -> NoReturn:
    """Refuse a websocket: graphql-transport-ws closes with 4401, graphql-ws sends an error."""
    if isinstance(socket, WebSocket) and (
        await view.pick_websocket_subprotocol(socket) == GRAPHQL_TRANSPORT_WS_PROTOCOL
    ):
        await socket.close(code=4401, reason=error.message)
    raise ConnectionRejectionError({"message": error.message, "extensions": error.extensions})


async def healthz(request: Request) -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The database answers and every migration is applied."""
    state: Any = request.app.state
    try:
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
                yield
        finally:
            await database.disconnect()

    graphql = CrmGraphQL(settings)
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *graphiql_routes(),
            *email_routes.routes(),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
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
