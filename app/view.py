"""The GraphQL endpoint: Strawberry's ASGI view, with compiled plans answering repeated queries.

POSTed query documents that have a compiled plan (``compiled/``) are answered without
Strawberry's request machinery; everything else goes through Strawberry's view and executor.
Both write the same bytes (tests/compiled/).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import jwt
import orjson
import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from app import http_media
from app.graphiql import page_for
from app.graphql import build_compiler, build_schema
from app.limits import Unpaid, budget_of
from app.live import LegacyWSHandler, TransportWSHandler
from app.observe import note_caller
from app.query_cost import cost_of
from auth.api_keys import is_api_key, viewer_for
from auth.context import Context
from core import metrics, tracing
from core.config import Settings
from core.errors import AppError, ErrorCode
from services.live import fanout

log = logging.getLogger("crm.graphql")


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
    # when the socket's viewer was read (monotonic): a later deactivation or role change ends
    # its subscriptions (resolvers/subscription.py)
    signed_in_at: float | None = None


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
        self._ide_html = page_for(settings)
        self.fanout = fanout.Fanout()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """POSTed queries with a compiled plan are answered here; everything else (GET, forms,
        batches, other documents, websockets) goes through Strawberry's view."""
        if scope["type"] != "http" or scope["method"] != "POST" or self.compiler is None:
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        response = await self._compiled(request, body)
        if response is not None:
            await response(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:  # the body was read: hand it to the generic view
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await super().__call__(scope, replay, send)

    async def _compiled(self, request: Request, body: bytes) -> Response | None:
        """The response from a compiled plan, or None: the generic view answers instead."""
        assert self.compiler is not None
        if not request.headers.get("content-type", "").startswith("application/json"):
            return None
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return None
        query, operation = payload["query"], payload.get("operationName")
        variables = payload.get("variables")
        if not isinstance(operation, str | None) or not isinstance(variables, dict | None):
            return None
        plan = self.compiler.plan_for(query, operation)
        if isinstance(plan, str):
            self.compiler.counts[f"generic: {plan}"] += 1
            return None
        context = await self.get_context(request, Response())
        name = plan.operation.name.value if plan.operation.name else None
        metrics.graphql_operation(name)
        with tracing.span("graphql.operation", {
            "graphql.operation.name": name or "", "graphql.operation.type": "query",
        }):
            try:
                data = await self.compiler.run(plan, operation, variables, context)
            except Unpaid:  # the budget needs the store: the generic path charges (app/limits.py)
                return None
        if data is None:
            return None
        if self.settings.compiled_verify:
            await self._verify(data, context, query, operation, variables)
        return Response(
            self.encode_json(self._paced(request, {"data": data})),
            media_type=http_media.media_type(request),
        )

    async def run(
        self, request: Request | WebSocket, context: Any = UNSET, root_value: Any = UNSET,
    ) -> Any:
        """Strawberry's answer, in the media type the client prefers (app/http_media.py)."""
        try:
            response = await super().run(request, context, root_value)
        except HTTPException as exc:
            if not isinstance(request, Request):
                raise
            return http_media.malformed(request, exc.status_code, exc.reason)
        if isinstance(request, Request) and isinstance(response, Response):
            return http_media.finish(request, response)
        return response

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """GET queries from a compiled plan when there is one (the same bytes)."""
        if self.compiler is not None and request_adapter.method == "GET":
            try:
                data = await self.compiler.execute(
                    request_data.query, request_data.operation_name, request_data.variables,
                    context,
                )
            except Unpaid:  # the generic path charges (app/limits.py)
                data = None
            if data is not None:
                return ExecutionResult(data=data, errors=None)
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )

    async def _verify(
        self, data: dict[str, object], context: Context, query: str, operation: str | None,
        variables: dict[str, Any] | None,
    ) -> None:
        """Compare a compiled answer with the generic executor's, byte for byte."""
        generic = await self.schema.execute(
            query, variable_values=variables, context_value=context, operation_name=operation
        )
        expected = orjson.dumps({
            "data": generic.data, "errors": [e.formatted for e in generic.errors or ()],
        })
        if orjson.dumps({"data": data, "errors": []}) == expected:
            return
        assert self.compiler is not None
        self.compiler.counts["mismatch"] += 1
        log.error("compiled answer differs from the generic one for operation %s", operation)
        if self.settings.env == "test":
            raise CompiledMismatch(query)

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
                viewer = context.viewer = await viewer_for(token, self.settings)
                note_caller(viewer.organization_id, viewer.user_id, viewer.api_key_id)
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
                signed_in_at = time.monotonic()
                context.viewer = await viewer_for(token, self.settings)
                if isinstance(context, SocketContext):
                    context.signed_in_at = signed_in_at
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
        http_media.shape(request, result, response)  # type: ignore[arg-type]
        errors = response.get("errors")
        for error in errors or ():
            # documents that fail to parse never reach the schema's error policy
            if isinstance(error, dict):
                error.setdefault("extensions", {}).setdefault("code", "GRAPHQL_VALIDATION_FAILED")
        if errors:
            # in document order: sibling fields resolve concurrently, so the order they fail in
            # is the database's timing, and the same request must read the same every time
            errors.sort(key=_document_order)
        paced: GraphQLHTTPResponse = self._paced(request, response)
        return paced

    def _paced(self, request: Request, response: Any) -> Any:
        """The response with the ``extensions`` integrators pace themselves by."""
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


def _document_order(error: Any) -> tuple[Any, ...]:
    """Where an error's field stands in the document (errors without a place keep theirs)."""
    if not isinstance(error, dict) or not error.get("locations"):
        return (0, 0, 0, "")
    first = error["locations"][0]
    return (1, first.get("line", 0), first.get("column", 0), str(error.get("path") or ""))


async def _reject_socket(
    view: CrmGraphQL, socket: Request | WebSocket, error: AppError
) -> NoReturn:
    """Refuse a websocket: graphql-transport-ws closes with 4401, graphql-ws sends an error."""
    if isinstance(socket, WebSocket) and (
        await view.pick_websocket_subprotocol(socket) == GRAPHQL_TRANSPORT_WS_PROTOCOL
    ):
        await socket.close(code=4401, reason=error.message)
    raise ConnectionRejectionError({"message": error.message, "extensions": error.extensions})
