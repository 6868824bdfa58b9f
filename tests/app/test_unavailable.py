"""The 503 answer for requests that meet an unreachable database outside GraphQL execution."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.unavailable import DatabaseUnavailableMiddleware
from core.database import DatabaseUnavailable


async def _unreachable(request: Request) -> Response:
    raise DatabaseUnavailable("cannot connect to the database: ConnectionRefusedError()")


async def _broken(request: Request) -> Response:
    raise RuntimeError("a bug")


def _client() -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/down", _unreachable), Route("/bug", _broken)],
                    middleware=[Middleware(DatabaseUnavailableMiddleware)])
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://crm.test")


async def test_an_unreachable_database_is_a_graphql_shaped_503() -> None:
    async with _client() as client:
        response = await client.get("/down")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "ConnectionRefused" not in error["message"]


async def test_other_errors_pass_through() -> None:
    async with _client() as client:
        with pytest.raises(RuntimeError, match="a bug"):
            await client.get("/bug")
