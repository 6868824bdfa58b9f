"""What abuse resistance costs per request: query cost estimate, rate limit charge, headers.

Figures, not a test. No database needed:

    .venv/bin/python bench/abuse_bench.py [--repeats N]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import parse

from app.graphql import build_schema
from app.limits import RateLimitMiddleware
from app.query_cost import PageSizes, operation_cost
from app.security_headers import SecurityHeadersMiddleware
from auth.identity import issue_token
from core.config import Settings
from services.rate_limit.ledger import Ledger
from services.rate_limit.stores import ProcessStore

NESTED = """
query($n: Int) {
  customers(first: 50) { edges { cursor node { id name email phone tags stage
    owner { id name } lifetimeValue { amount currency } orderCount lastOrderAt
    interactions(first: $n) { nodes { id channel direction subject occurredAt } }
    orders(first: 5) { nodes { id amount currency status placedAt } }
  } } pageInfo { hasNextPage endCursor } totalCount }
}"""


def per_call_us(work: Callable[[], object], repeats: int) -> float:
    """Microseconds per call of ``work`` (best of three rounds)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(repeats):
            work()
        best = min(best, time.perf_counter() - started)
    return best / repeats * 1e6


async def per_call_async_us(work: Callable[[], Awaitable[object]], repeats: int) -> float:
    """Microseconds per awaited call of ``work`` (best of three rounds)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(repeats):
            await work()
        best = min(best, time.perf_counter() - started)
    return best / repeats * 1e6


async def _noop(*args: Any) -> None:
    return None


async def _respond(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})


async def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20_000)
    repeats = parser.parse_args().repeats
    settings = Settings(env="test", secret_key="bench-" + "x" * 40)
    schema = build_schema(settings)._schema
    document = parse(NESTED)
    pages = PageSizes(settings.default_page_size, settings.max_page_size)
    cost = operation_cost(schema, document, None, {"n": 5}, pages)
    us = per_call_us(lambda: operation_cost(schema, document, None, {"n": 5}, pages), repeats)
    print(f"cost estimate of the 50x(5+5) customer page (cost {cost}): {us:.1f} µs")
    ledger = Ledger(ProcessStore(), window_seconds=60, slice_points=50, max_accounts=100_000)
    keys = [f"user:{n}" for n in range(50_000)]
    counter = iter(range(10**12))

    async def charge() -> bool:
        return await ledger.charge(ledger.account(keys[next(counter) % 50_000], 10**9), 1)

    us = await per_call_async_us(charge, repeats)
    print(f"budget charge, 50k distinct keys (mostly a new slice each): {us:.2f} µs")
    one = ledger.account("user:0", 10**9)
    us = await per_call_async_us(lambda: ledger.charge(one, 1), repeats)
    print(f"budget charge, one key (a store call per 50 points): {us:.2f} µs")
    # budgets of the process itself: the figure is the middleware's own work, no store round trip
    middleware = RateLimitMiddleware(_respond, settings.model_copy(update={
        "rate_limit_points": 10**9, "anonymous_rate_limit_points": 10**9,
        "rate_limit_shared": False}))
    token = issue_token({"id": 1, "organization_id": 1}, settings)
    signed_in = {"type": "http", "path": "/graphql", "client": ("127.0.0.1", 1), "method": "POST",
                 "headers": [(b"authorization", f"Bearer {token}".encode())]}
    anonymous = {**signed_in, "headers": []}
    for name, scope in (("signed-in user (JWT verified)", signed_in), ("anonymous", anonymous)):
        us = await per_call_async_us(
            lambda s=scope: middleware(dict(s), _noop, _noop), repeats  # type: ignore[misc]
        )
        print(f"rate limit middleware (meter, admit, headers), {name}: {us:.1f} µs")
    headers = SecurityHeadersMiddleware(_respond, settings)
    http = {"type": "http", "scheme": "https", "headers": []}
    us = await per_call_async_us(lambda: headers(http, _noop, _noop), repeats)
    print(f"security headers per response: {us:.1f} µs")


if __name__ == "__main__":
    asyncio.run(main())
