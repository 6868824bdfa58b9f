"""One budget across real server processes: two `crm serve` (uvicorn) on one database, or on
one Redis when CRM_TEST_REDIS_URL is set, drained by one user through both."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from services.rate_limit.redis_store import KEY_PREFIX
from tests.e2e.test_subscription_processes import CRM, Server, free_port
from tests.factories import make_org, make_user, token_for

BUDGET = 200  # points per window; a slice is a fiftieth of it: 4 points
LIGHT = "{ viewer { user { id } } }"  # one point
STORES = [
    "database",
    pytest.param("redis", marks=pytest.mark.skipif(
        not os.environ.get("CRM_TEST_REDIS_URL"), reason="set CRM_TEST_REDIS_URL to test Redis"
    )),
]


async def _forget_in_redis(principal: str) -> None:
    client = Redis.from_url(os.environ["CRM_TEST_REDIS_URL"])
    try:
        await client.delete(KEY_PREFIX + principal)
    finally:
        await client.aclose()


@pytest.fixture(params=STORES)
async def servers(  # type: ignore[no-untyped-def]
    request, db: str, settings, tmp_path: Path
) -> AsyncIterator[list[Server]]:
    """Two `crm serve` processes sharing budgets of 200 points per hour."""
    env = os.environ | {
        "DATABASE_URL": db, "CRM_SECRET_KEY": settings.secret_key, "CRM_ENV": "test",
        "CRM_LOG_LEVEL": "WARNING", "CRM_ML_RESCORE_INTERVAL_SECONDS": "0",
        "CRM_RATE_LIMIT_POINTS": str(BUDGET), "CRM_RATE_LIMIT_WINDOW_SECONDS": "3600",
        "CRM_ANONYMOUS_RATE_LIMIT_POINTS": "1000000000",
    }
    env.pop("REDIS_URL", None)
    if request.param == "redis":
        env["REDIS_URL"] = os.environ["CRM_TEST_REDIS_URL"]
    started = []
    for name in ("a", "b"):
        port = free_port()
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
                [CRM, "serve", "--no-demo", "--port", str(port)], env=env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        started.append(Server(process, port, log))
    try:
        await asyncio.gather(*(server.wait_ready() for server in started))
        yield started
    finally:
        for server in started:
            server.stop()


async def test_two_processes_share_one_budget(  # type: ignore[no-untyped-def]
    servers: list[Server], settings
) -> None:
    user = await make_user(await make_org())
    if os.environ.get("CRM_TEST_REDIS_URL"):
        await _forget_in_redis(f"user:{user.id}")  # ids start again in every test database
    token = token_for(user, settings)
    headers = {"Authorization": f"Bearer {token}"}
    accepted = [0, 0]
    refused = [0, 0]
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(3 * BUDGET):
            for n, server in enumerate(servers):
                response = await http.post(
                    f"{server.http}/graphql", json={"query": LIGHT}, headers=headers
                )
                assert response.headers["ratelimit-limit"] == str(BUDGET)
                if response.status_code == 429:
                    assert 0 < int(response.headers["retry-after"]) <= 3600
                    assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
                    refused[n] += 1
                else:
                    assert response.json()["data"]["viewer"]["user"]["id"], response.text
                    accepted[n] += 1
            if all(refused):
                break
    # Each process spends slices it reserved in the shared store, which never grants more than
    # the budget; once both have refused, neither holds unspent points: exactly the budget.
    assert sum(accepted) == BUDGET, (accepted, refused)
    assert all(accepted), accepted  # both served part of it
