"""Rate limits: cost-based budgets per user, per API key and per anonymous IP, kept in the
database; 429 with Retry-After before execution, RateLimit-* headers on every response."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from app.limits import RateLimitMiddleware, budget_of
from app.main import create_app
from auth import api_keys
from core import database
from core.config import Settings
from db import api_key as keys
from db.models import Customer
from services.live.pubsub import Broker
from tests.factories import make_customer, make_user, token_for
from tests.resolvers.test_subscription import CREATED, GraphQLSocket, until

CREATE = """
mutation($name: String!) { createCustomer(input: {name: $name}) { errors { code } } }
"""
TYPENAME = "{ __typename }"
PAGE = "{ customers(first: 100) { nodes { id } } }"  # cost 201: 3 points
# cost 1 + 100 * (1 + 1 + 1 + 5 * 2) = 1301: 14 points
DEAR = "{ customers(first: 100) { nodes { id interactions(first: 5) { nodes { id } } } } }"


@pytest.fixture
def tight(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit_points": 3, "anonymous_rate_limit_points": 2})


def _client(app: Any, ip: str | None = None) -> httpx.AsyncClient:
    ip = ip or f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    transport = httpx.ASGITransport(app=app, client=(ip, 5555))
    return httpx.AsyncClient(transport=transport, base_url="http://crm.test")


@pytest.fixture
async def limited(db: str, tight: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client from an address of its own, of an app with tight limits."""
    async with _client(create_app(tight, db)) as http:
        yield http


async def _post(http: httpx.AsyncClient, query: str, token: str | None = None,
                **variables: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


def _is_limited(response: httpx.Response) -> bool:
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= set(response.headers)
    if response.status_code != 429:
        assert response.status_code == 200, response.text
        assert "retry-after" not in response.headers
        return False
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit-remaining"] == "0" or "data" in response.json()
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == int(response.headers["retry-after"])
    return True


def _remaining(response: httpx.Response) -> int:
    return int(response.headers["ratelimit-remaining"])


async def test_each_user_has_a_budget_and_429_comes_before_execution(
    limited, org, tight
) -> None:
    user, colleague = await make_user(org), await make_user(org)
    token = token_for(user, tight)
    statuses = [_is_limited(await _post(limited, CREATE, token, name="R")) for _ in range(5)]
    assert statuses == [False, False, False, True, True]
    assert await Customer.filter(organization_id=org.id, name="R").count() == 3
    assert not _is_limited(await _post(limited, TYPENAME, token_for(colleague, tight)))
    assert not _is_limited(await _post(limited, TYPENAME))  # the IP's own budget is untouched


async def test_anonymous_callers_and_bad_credentials_share_their_ip_budget(
    limited, org, tight
) -> None:
    user = await make_user(org)
    forged = jwt.encode({"sub": str(user.id), "typ": "access", "iss": "crm", "exp": 2**40},
                        "not-the-secret-" + "y" * 40, algorithm="HS256")
    assert not _is_limited(await _post(limited, TYPENAME))
    assert not _is_limited(await _post(limited, TYPENAME, forged))
    assert _is_limited(await _post(limited, TYPENAME, "crm_live_" + uuid.uuid4().hex))
    assert _is_limited(await _post(limited, TYPENAME))
    assert not _is_limited(await _post(limited, TYPENAME, token_for(user, tight)))
    assert (await limited.get("/healthz")).status_code == 200  # health checks are never limited


async def test_each_api_key_has_a_budget(limited, org) -> None:
    new = api_keys.generate()
    await keys.create(org_id=org.id, user_id=None, name="erp", prefix=new.prefix,
                      secret_hash=new.secret_hash, scopes=["customers:read"], expires_at=None)
    results = [_is_limited(await _post(limited, TYPENAME, new.secret)) for _ in range(4)]
    assert results == [False, False, False, True]
    assert not _is_limited(await _post(limited, TYPENAME))  # anonymous budget is separate


async def test_requests_are_charged_their_cost_in_points(db, org, settings) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_points": 1000}), db)
    token = token_for(await make_user(org), settings)
    async with _client(app) as http:
        page = await _post(http, PAGE, token)
        assert page.json()["extensions"]["cost"]["requested"] == 201
        assert (page.headers["ratelimit-limit"], _remaining(page)) == ("1000", 997)
        assert 0 < int(page.headers["ratelimit-reset"]) <= 60
        assert page.json()["extensions"]["rateLimit"] == {"limit": 1000, "remaining": 997}
        assert _remaining(await _post(http, TYPENAME, token)) == 996
        assert _remaining(await _post(http, "{ nope }", token)) == 995  # invalid: one point
        ide = await http.get("/graphql", headers={"accept": "text/html"})
        assert ide.status_code == 200
        # anonymous: the IP's budget pays the one point of every request without a cost
        assert _remaining(ide) == int(ide.headers["ratelimit-limit"]) - 1


async def test_an_operation_dearer_than_what_is_left_is_refused_before_it_runs(
    db, org, settings
) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_points": 10}), db)
    token = token_for(await make_user(org), settings)
    await make_customer(org)
    async with _client(app) as http:
        assert _remaining(await _post(http, TYPENAME, token)) == 9
        refused = await _post(http, DEAR, token)
        assert _is_limited(refused)
        assert refused.json()["data"] is None
        assert _remaining(refused) == 8  # a refused request costs its one point
        cheaper = await _post(http, PAGE, token)  # what is left still pays for cheaper ones
        assert not _is_limited(cheaper)
        assert _remaining(cheaper) == 5


async def test_the_budget_left_is_on_the_request_state(tight: Settings) -> None:
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        budget = budget_of(Request(scope))
        assert budget is not None
        body = {"key": budget.key, "remaining": budget.remaining, "limit": budget.limit}
        await JSONResponse(body)(scope, receive, send)

    app = RateLimitMiddleware(endpoint, tight)
    async with _client(app, "192.0.2.7") as http:
        first = await http.get("/graphql")
        assert first.json() == {"key": "ip:192.0.2.7", "remaining": 1, "limit": 2}
        assert first.headers["ratelimit-remaining"] == "1"
        assert (await http.get("/graphql")).json()["remaining"] == 0
        assert (await http.get("/graphql")).status_code == 429


async def test_websocket_handshakes_are_charged_too(tight: Settings) -> None:
    accepted = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        accepted.append(scope["type"])

    app = RateLimitMiddleware(endpoint, tight)
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "websocket.connect"}

    scope = {"type": "websocket", "path": "/graphql", "headers": [], "client": ("192.0.2.9", 1)}
    for _ in range(3):
        await app(dict(scope), receive, send)
    assert accepted == ["websocket", "websocket"]
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "rate limited"}]


@pytest.fixture
async def socket_app(db: str, settings: Settings) -> AsyncIterator[tuple[str, Broker]]:
    """An app with a budget of 3 points per user, served by uvicorn in this process."""
    app = create_app(settings.model_copy(update={"rate_limit_points": 3}), db)
    params = database.connection_params(db)
    broker = Broker(lambda: asyncpg.connect(**params), queue_size=20)
    await broker.start()
    app.state.pubsub = broker
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="off", log_level="warning",
        ws="websockets-sansio",
    ))
    task = asyncio.create_task(server.serve())
    await until(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"ws://127.0.0.1:{port}/graphql", broker
    server.should_exit = True
    await task
    await broker.stop()


async def test_subscription_starts_are_charged_their_cost(socket_app, org, settings) -> None:
    url, broker = socket_app
    dear = "subscription { interactionCreated { customer { interactions(first: 100) {" \
           " nodes { id } } } } }"  # cost 204: 3 points
    async with GraphQLSocket.open(url, token_for(await make_user(org), settings)) as sock:
        # the handshake was charged to the address, operations go to the viewer's budget
        await sock.subscribe(CREATED)  # 1 point of 3
        await until(lambda: broker.subscriber_count(org.id) == 1)
        refused = await sock.message(await sock.subscribe(dear))
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
        await sock.subscribe(CREATED)  # the last 2 points pay for cheaper ones
        await sock.subscribe(CREATED)
        await until(lambda: broker.subscriber_count(org.id) == 3)
        spent = await sock.message(await sock.subscribe(CREATED))
        assert spent["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
