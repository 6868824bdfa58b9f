"""The floor to compare GraphQL with: the benchmark's page, hand-written on Starlette + asyncpg.

Two SQL statements per request (the customer page with owner and order/interaction summaries,
then a LATERAL join for each customer's latest interactions) and JSON built directly, shaped
exactly like the GraphQL response to ``bench.queries.CUSTOMERS``. It checks the same bearer
token the API issues (signature, expiry, user still active) inside the first statement.

Run: ``python bench/baseline_app.py --port 8001`` (DATABASE_URL must be set).
"""

from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.config import Settings, get_settings
from core.database import connection_params

# as auth.identity issues tokens
ALGORITHM, ISSUER = "HS256", "crm"
CENT = Decimal("0.01")
PAGE_SQL = """
SELECT c.id, c.name, c.email, u.id AS owner_pk, u.name AS owner_name, i.last_at,
       v.currencies, v.totals
FROM (SELECT t.id, t.name, t.email, t.owner_id, t.created_at FROM customer t
      WHERE t.organization_id = (SELECT a.organization_id FROM app_user a
                                 WHERE a.id = $1 AND a.is_active AND a.organization_id = $2)
        AND t.deleted_at IS NULL
      ORDER BY t.created_at DESC, t.id DESC LIMIT $3) c
LEFT JOIN app_user u ON u.id = c.owner_id AND u.organization_id = $2
CROSS JOIN LATERAL (SELECT max(occurred_at) AS last_at FROM interaction
                    WHERE customer_id = c.id) i
CROSS JOIN LATERAL (SELECT array_agg(g.currency ORDER BY g.currency) AS currencies,
                           array_agg(g.total ORDER BY g.currency) AS totals
                    FROM (SELECT currency, sum(amount) AS total FROM customer_order
                          WHERE customer_id = c.id AND status = 'PAID'
                          GROUP BY currency) g) v
ORDER BY c.created_at DESC, c.id DESC
"""
INTERACTIONS_SQL = """
SELECT x.* FROM unnest($1::bigint[]) AS p(customer_id) CROSS JOIN LATERAL (
    SELECT t.id, t.customer_id, t.channel, t.direction, t.subject, t.occurred_at
    FROM interaction t WHERE t.customer_id = p.customer_id AND t.organization_id = $2
    ORDER BY t.occurred_at DESC, t.id DESC LIMIT $3) x
"""


def _gid(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def _money(amount: Decimal) -> str:
    # the API shows cents (12.50), or every digit when there are more
    cents = amount.quantize(CENT)
    return str(cents if cents == amount else amount.normalize())


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _unauthorized(message: str) -> Response:
    return Response(orjson.dumps({"error": message}), 401, media_type="application/json")


def _claims(request: Request, settings: Settings) -> dict[str, Any] | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        claims: dict[str, Any] = jwt.decode(
            token.strip(), settings.secret_key, algorithms=[ALGORITHM], issuer=ISSUER,
            options={"require": ["sub", "exp", "iat", "org"]},
        )
    except jwt.InvalidTokenError:
        return None
    return claims if claims.get("typ") == "access" else None


def _node(row: asyncpg.Record, interactions: list[asyncpg.Record]) -> dict[str, Any]:
    return {
        "id": _gid("Customer", row["id"]),
        "name": row["name"],
        "email": row["email"],
        "owner": None if row["owner_pk"] is None else {"name": row["owner_name"]},
        "lifetimeValue": [
            {"amount": _money(total), "currency": currency}
            for currency, total in zip(row["currencies"] or (), row["totals"] or (), strict=True)
        ],
        "lastInteractionAt": _iso(row["last_at"]),
        "interactions": {"edges": [{"node": {
            "id": _gid("Interaction", i["id"]), "channel": i["channel"],
            "direction": i["direction"], "subject": i["subject"],
            "occurredAt": _iso(i["occurred_at"]),
        }} for i in interactions]},
    }


async def customers(request: Request) -> Response:
    """POST {"first": 50, "interactionsFirst": 5}: the page, as the GraphQL query returns it."""
    settings: Settings = request.app.state.settings
    claims = _claims(request, settings)
    if claims is None:
        return _unauthorized("invalid access token")
    body = orjson.loads(await request.body() or b"{}")
    first = min(max(int(body.get("first", 50)), 0), settings.max_page_size)
    nested = min(max(int(body.get("interactionsFirst", 5)), 0), settings.max_page_size)
    org_id = int(claims["org"])
    async with request.app.state.pool.acquire() as conn:
        rows = await conn.fetch(PAGE_SQL, int(claims["sub"]), org_id, first)
        if not rows and not await conn.fetchval(
            "SELECT 1 FROM app_user WHERE id = $1 AND is_active", int(claims["sub"])
        ):
            return _unauthorized("invalid access token")
        latest = await conn.fetch(INTERACTIONS_SQL, [r["id"] for r in rows], org_id, nested)
    by_customer: dict[int, list[asyncpg.Record]] = {r["id"]: [] for r in rows}
    for interaction in latest:
        by_customer[interaction["customer_id"]].append(interaction)
    data = {"customers": {"edges": [{"node": _node(r, by_customer[r["id"]])} for r in rows]}}
    return Response(orjson.dumps({"data": data}), media_type="application/json")


CUSTOMER_SQL = """
SELECT t.id, t.name, t.email FROM customer t
WHERE t.id = $3 AND t.deleted_at IS NULL
  AND t.organization_id = (SELECT a.organization_id FROM app_user a
                           WHERE a.id = $1 AND a.is_active AND a.organization_id = $2)
"""


async def customer(request: Request) -> Response:
    """POST {"id": global id}: ``customer(id:) { id name email }``, as GraphQL returns it."""
    settings: Settings = request.app.state.settings
    claims = _claims(request, settings)
    if claims is None:
        return _unauthorized("invalid access token")
    body = orjson.loads(await request.body() or b"{}")
    raw = base64.urlsafe_b64decode(str(body["id"]) + "==").decode()
    pk = int(raw.partition(":")[2])
    row = await request.app.state.pool.fetchrow(
        CUSTOMER_SQL, int(claims["sub"]), int(claims["org"]), pk
    )
    found = None if row is None else {
        "id": _gid("Customer", row["id"]), "name": row["name"], "email": row["email"]
    }
    return Response(orjson.dumps({"data": {"customer": found}}), media_type="application/json")


async def readyz(request: Request) -> Response:
    """The database answers."""
    await request.app.state.pool.fetchval("SELECT 1")
    return Response(b'{"status":"ok"}', media_type="application/json")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset round trip, as the app's pool does."""
    # nothing here changes session state; asyncpg still rolls back an open transaction


def create_app(settings: Settings | None = None, database_url: str | None = None) -> Starlette:
    """The baseline ASGI app, connecting to ``database_url`` (default: DATABASE_URL)."""
    settings = settings or get_settings()
    url = database_url or settings.database_url
    if url is None:
        raise RuntimeError("DATABASE_URL is not set")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            **connection_params(url), min_size=settings.db_pool_min,
            max_size=settings.db_pool_max, reset=_keep_session, server_settings={
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "application_name": "crm-bench-baseline",
            },
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    app = Starlette(
        routes=[Route("/customers", customers, methods=["POST"]),
                Route("/customer", customer, methods=["POST"]), Route("/readyz", readyz)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


def main() -> None:
    """Serve the baseline with uvicorn the way `crm serve` serves the API."""
    import uvicorn

    parser = argparse.ArgumentParser(description="Serve the hand-written baseline endpoint.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    settings = get_settings()
    uvicorn.run(
        "bench.baseline_app:create_app", factory=True, host=args.host, port=args.port,
        workers=args.workers, log_level=settings.log_level.lower(), proxy_headers=True,
        loop="uvloop" if sys.platform != "win32" else "auto",
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
