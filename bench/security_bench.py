"""What partner access and audit cost per request: key lookup, PII masking, audit rows.

Figures, not tests. In-process (httpx ASGI transport, no network), sequential requests::

    PYTHONPATH=. .venv/bin/python bench/security_bench.py [--database-url URL] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from app.main import create_app
from bench.scratch import scratch_database
from core import database
from core.config import Settings
from tests.factories import make_customer, make_org, make_user, token_for
from tests.security_helpers import make_key

PAGE = "{ customers(first: 50) { nodes { id name email phone address { street city country } } } }"
CREATE = 'mutation($n: String!) { createCustomer(input: {name: $n}) { customer { id } } }'


async def _timed(label: str, n: int, call: Callable[[int], Awaitable[Any]]) -> None:
    for i in range(10):
        await call(-i - 1)  # warm caches and connections
    start = time.perf_counter()
    for i in range(n):
        await call(i)
    print(f"{label:<52} {1000 * (time.perf_counter() - start) / n:7.2f} ms/request")


def _unaudited(app: Any) -> None:
    """Put back the mutation resolvers as they were before app.guards wrapped them."""
    for route in app.routes:
        schema = getattr(getattr(route, "endpoint", None), "schema", None)
        if schema is not None:
            for field in schema._schema.mutation_type.fields.values():
                field.resolve = getattr(field.resolve, "__wrapped__", field.resolve)


async def main(url: str, n: int) -> None:
    """Seed one organization and time the same requests under different credentials."""
    settings = Settings(env="test", secret_key="b" * 48, database_url=None)
    async with scratch_database(url, "crm_secbench") as db_url:
        await database.migrate(db_url, settings)
        await database.connect(db_url, settings)
        org = await make_org()
        for i in range(50):
            await make_customer(org, phone="+4930123456", street=f"Street {i}", city="Berlin")
        credentials = {
            "user (JWT)": token_for(await make_user(org), settings),
            "API key with pii:read": await make_key(org.id, ["customers:read", "pii:read"]),
            "API key without pii:read (masked)": await make_key(org.id, ["customers:read"]),
        }
        writer = await make_key(org.id, ["customers:write"])
        for label, app in (("", create_app(settings, db_url)), (" [audit removed]", None)):
            if app is None:
                app = create_app(settings, db_url)
                _unaudited(app)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as http:
                if not label:
                    for who, secret in credentials.items():
                        headers = {"Authorization": f"Bearer {secret}"}
                        await _timed(f"50 customers with contact data, {who}", n,
                                     lambda i, h=headers: http.post(
                                         "/graphql", json={"query": PAGE}, headers=h))
                headers = {"Authorization": f"Bearer {writer}"}
                await _timed(f"createCustomer by key{label}", n,
                             lambda i, h=headers, tag=label: http.post(
                                 "/graphql", headers=h,
                                 json={"query": CREATE, "variables": {"n": f"c{tag}{i}"}}))
        await database.disconnect()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.requests))
