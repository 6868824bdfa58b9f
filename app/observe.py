"""What every request leaves behind: its id, an access log line, metrics and a span."""

from __future__ import annotations

import itertools
import logging
from secrets import token_hex

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics, tracing

access_log = logging.getLogger("crm.access")
REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.encode()


# Request ids: this process's random prefix and a counter (32 hex characters, unique across
# processes and restarts without a random draw per request; they correlate logs, they guard
# nothing).
_PROCESS = token_hex(8)
_SEQUENCE = itertools.count(1)


def next_request_id() -> str:
    """A new request id."""
    return f"{_PROCESS}{next(_SEQUENCE):016x}"


class RequestIdMiddleware:
    """Gives every request an id (or keeps a sane one sent by a proxy) and echoes it back;
    records the request's metrics, access log line and (when tracing) its server span."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(_REQUEST_ID_KEY, b"").decode("latin-1")
        request_id = incoming if incoming.isalnum() and len(incoming) <= 64 else next_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        observation = metrics.Observation(request_id, websocket=scope["type"] == "websocket")
        token = metrics.current.set(observation)
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [
                    *message.get("headers", []), (_REQUEST_ID_KEY, request_id.encode()),
                ]}
            await send(message)

        method = scope.get("method", "WS")
        try:
            if not tracing.enabled():
                await self.app(scope, receive, send_with_id)
                return
            with tracing.request_span(
                f"{method} {scope['path']}", _text_headers(headers),
                {"http.request.method": method, "url.path": scope["path"]},
            ) as span:
                await self.app(scope, receive, send_with_id)
                tracing.set_attributes(span, {"http.response.status_code": status})
        finally:
            _record(scope, method, status, observation)
            metrics.current.reset(token)


def _record(scope: Scope, method: str, status: int, observation: metrics.Observation) -> None:
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    seconds = metrics.finish(observation, method, route, status)
    if not access_log.isEnabledFor(logging.INFO):
        return
    # the access log: never the query string (GET /graphql carries variables in it)
    access_log.info(
        "%s %s %s %.1fms request=%s", method, scope["path"], status or "-", seconds * 1000,
        observation.request_id,
        extra={"duration_ms": round(seconds * 1000, 2), "status": status, "path": scope["path"]},
    )


def _text_headers(headers: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items()}


def note_caller(organization_id: int, user_id: int | None, api_key_id: int | None) -> None:
    """Remember who the current request acts for (for its log lines)."""
    observation = metrics.current.get()
    if observation is not None:
        observation.organization_id = organization_id
        observation.user_id = user_id
        observation.api_key_id = api_key_id
