"""GraphQL over HTTP media types: ``application/graphql-response+json`` for clients that
prefer it (request errors as 400 without ``data``), ``application/json`` as before."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.types import ExecutionResult

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_KNOWN = (GRAPHQL_RESPONSE, JSON, "application/*", "*/*")
_REQUEST_ERROR = "graphql_request_error"


def prefers_graphql_response(accept: str | None) -> bool:
    """Whether an Accept header ranks ``application/graphql-response+json`` first among the
    types we answer with (by q, then by order)."""
    if not accept or GRAPHQL_RESPONSE not in accept:
        return False
    best, best_q = "", -1.0
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media.lower() in _KNOWN and quality > best_q:
            best, best_q = media.lower(), quality
    return best == GRAPHQL_RESPONSE and best_q > 0


def media_type(request: Request) -> str:
    """The content type to answer ``request`` with."""
    accept = request.headers.get("accept")
    return GRAPHQL_RESPONSE if prefers_graphql_response(accept) else JSON


def shape(request: Request, result: ExecutionResult, response: dict[str, Any]) -> None:
    """A request error (parse, validation, variable coercion: no data and no error with a path)
    answered as graphql-response+json has no ``data`` and will get status 400."""
    if result.data is not None or not result.errors:
        return
    if any(error.path is not None for error in result.errors):
        return  # a field error that nulled the root: the request itself was fine
    if media_type(request) == GRAPHQL_RESPONSE:
        response.pop("data", None)
        request.scope.setdefault("state", {})[_REQUEST_ERROR] = True


def finish(request: Request, response: Response) -> Response:
    """Label a generic answer with the negotiated type (and 400 for request errors)."""
    if type(response) is not Response or media_type(request) != GRAPHQL_RESPONSE:
        return response
    if response.headers.get("content-type", "").startswith(JSON):
        response.headers["content-type"] = GRAPHQL_RESPONSE
        if request.scope.get("state", {}).get(_REQUEST_ERROR) and response.status_code == 200:
            response.status_code = 400
    return response


def malformed(request: Request, status: int, reason: str) -> Response:
    """A request that is not GraphQL over HTTP at all (bad JSON, no query): JSON errors."""
    return JSONResponse(
        {"errors": [{"message": reason, "extensions": {"code": "BAD_REQUEST"}}]},
        status_code=status, media_type=media_type(request),
    )
