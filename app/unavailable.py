"""503 for requests that meet an unreachable database outside GraphQL execution.

Resolvers' errors are labelled SERVICE_UNAVAILABLE by the schema's error policy
(``app/graphql.py``); this catches the rest: the access-token check while the context is built,
the email routes, anything that raises before a response has started.
"""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.graphql import UNAVAILABLE_MESSAGE, UNAVAILABLE_RETRY_AFTER
from core.database import is_unavailable
from core.errors import ErrorCode

log = logging.getLogger("crm.app")


def unavailable_response(request_id: str | None) -> JSONResponse:
    """The GraphQL-shaped 503 every client gets while the database is down."""
    return JSONResponse(
        {"data": None, "errors": [{"message": UNAVAILABLE_MESSAGE, "extensions": {
            "code": ErrorCode.SERVICE_UNAVAILABLE.value, "requestId": request_id}}]},
        status_code=503, headers={"Retry-After": UNAVAILABLE_RETRY_AFTER},
    )


class DatabaseUnavailableMiddleware:
    """Answers 503 SERVICE_UNAVAILABLE when the database is unreachable and nothing was sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started or not is_unavailable(exc):
                raise
            request_id = scope.get("state", {}).get("request_id")
            log.warning("database unavailable for %s (request %s): %s",
                        scope["path"], request_id, type(exc).__qualname__)
            await unavailable_response(request_id)(scope, receive, send)
