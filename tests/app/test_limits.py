"""Rate limits: token buckets per user, per API key and per anonymous IP; 429 with Retry-After."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from app.limits import RateLimitMiddleware, TokenBucketLimiter, budget_of
from app.main import create_app
from auth import api_keys
from core.config import Settings
from db import api_key as keys
from db.models import Customer
from tests.factories import make_user, token_for

CREATE = """
mutation($name: String!) { createCustomer(input: {name: $name}) { errors { code } } }
"""
TYPENAME = "{ __typename }"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    limiter = TokenBucketLimiter(rate=2.0, burst=3, max_keys=10, clock=clock)
    budgets = [limiter.take("a") for _ in range(4)]
    assert [b.remaining for b in budgets[:3]] == [2, 1, 0]
    assert [b.allowed for b in budgets] == [True, True, True, False]
    assert budgets[3].retry_after == 1
    assert limiter.take("b").allowed  # every key has its own bucket
    clock.now += 0.5
    assert limiter.take("a").allowed  # one token back after half a second at 2 per second
    assert not limiter.take("a").allowed
    clock.now += 60
    assert limiter.take("a").remaining == 2  # refilled, but never beyond the burst


def test_slow_refills_give_an_honest_retry_after() -> None:
    limiter = TokenBucketLimiter(rate=0.1, burst=1, max_keys=10, clock=Clock())
    assert limiter.take("k").allowed
    assert limiter.take("k").retry_after == 10


def test_the_number_of_buckets_is_bounded() -> None:
    clock = Clock()
    limiter = TokenBucketLimiter(rate=1.0, burst=1, max_keys=2, clock=clock)
    for key in ("a", "b", "c"):
        limiter.take(key)
    assert len(limiter._buckets) == 2
    assert limiter.take("a").allowed  # "a" was the least recently used and was forgotten


@pytest.fixture
def tight(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "rate_limit_per_second": 0.01, "rate_limit_burst": 3,
        "anonymous_rate_limit_per_second": 0.01, "anonymous_rate_limit_burst": 2,
    })


@pytest.fixture
async def limited(db: str, tight: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app instance of its own (its own buckets) with tight limits."""
    ip = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    transport = httpx.ASGITransport(app=create_app(tight, db), client=(ip, 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as http:
        yield http


async def _post(http: httpx.AsyncClient, query: str, token: str | None = None,
                **variables: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


def _is_limited(response: httpx.Response) -> bool:
    if response.status_code != 429:
        assert response.status_code == 200, response.text
        return False
    assert int(response.headers["retry-after"]) >= 1
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == int(response.headers["retry-after"])
    return True


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


async def test_the_budget_left_is_on_the_request_state(tight: Settings) -> None:
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        budget = budget_of(Request(scope))
        assert budget is not None
        body = {"key": budget.key, "remaining": budget.remaining, "limit": budget.limit}
        await JSONResponse(body)(scope, receive, send)

    app = RateLimitMiddleware(endpoint, tight)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as http:
        first = (await http.get("/graphql")).json()
        assert first == {"key": "ip:192.0.2.7", "remaining": 1, "limit": 2}
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
