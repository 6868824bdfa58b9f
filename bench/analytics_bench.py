"""Cross-relation customer filters, aggregates and a full cursor walk on a seeded organization.

Measures the data-access layer in-process (the SQL the API sends plus row decoding, no GraphQL
or HTTP on top): p50/p99 of a first page and of the count for a combined filter, the dashboard
aggregates, and page latency along a walk over every customer. See bench/ANALYTICS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from core import database
from core.config import Settings
from db import customer as customers
from db import stats
from db.customer_filter import InteractionFacts, OrderFacts, OwnerFacts, Range
from db.enums import LifecycleStage, Role
from db.pagination import PageArgs, count, fetch_page
from db.sql import fetch, fetch_one

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/crm_analytics_bench"


def combined_filter(now: datetime) -> customers.CustomerFilter:
    """Spent 200+ in the last year, no inbound contact in 60 days, owned by an agent or at risk,
    and not churned: the "who should sales call" question of the issue."""
    return customers.CustomerFilter(
        orders=OrderFacts(since=now - timedelta(days=365), total_spent=Range(gte=Decimal(200))),
        interactions=InteractionFacts(no_inbound_within_days=60),
        any_of=(
            customers.CustomerFilter(owner=OwnerFacts(role=Role.AGENT)),
            customers.CustomerFilter(min_churn_risk=0.6),
        ),
        not_=customers.CustomerFilter(stages=(LifecycleStage.CHURNED,)),
    )


async def timed(work: Callable[[], Awaitable[Any]], repeats: int) -> list[float]:
    """Milliseconds of each of ``repeats`` sequential runs (after one unmeasured run)."""
    await work()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        await work()
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(name: str, ms: list[float]) -> str:
    """p50 / p99 / max of a list of milliseconds."""
    ordered = sorted(ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{name:<44} p50 {statistics.median(ordered):8.1f} ms  p99 {p99:8.1f} ms  n={len(ms)}"


async def ensure_predictions(org_id: int) -> None:
    """Score 60% of the customers with made-up risks unless some are scored (seed scores none)."""
    row = await fetch_one("SELECT count(*) AS n FROM prediction WHERE organization_id = $1",
                          [org_id])
    if row and row["n"]:
        return
    await fetch(
        "INSERT INTO prediction (organization_id, customer_id, churn_risk, expected_revenue,"
        " segment, reasons, model_version, as_of, horizon_days, scored_at)"
        " SELECT organization_id, id, (id % 97) / 97.0, (id % 13) * 50.0,"
        " (ARRAY['loyal', 'at_risk', 'new'])[1 + id % 3], '[]', 'bench', now(), 90, now()"
        " FROM customer WHERE organization_id = $1 AND id % 5 < 3",
        [org_id],
    )
    await fetch("ANALYZE prediction")


async def bench_filter(org_id: int, repeats: int) -> None:
    """First page and total count of the combined filter, then the aggregates."""
    f = combined_filter(datetime.now(UTC))
    sort = customers.SORTS["CREATED_AT_DESC"]
    first = PageArgs(limit=20, backward=False, after=None, before=None)
    page_ms = await timed(lambda: fetch_page(customers.source(org_id, f), sort, first), repeats)
    print(summary("combined filter, first page of 20", page_ms))
    total = await count(customers.source(org_id, f))
    count_ms = await timed(lambda: count(customers.source(org_id, f)), max(3, repeats // 10))
    print(summary(f"combined filter, totalCount ({total} match)", count_ms))
    groups = [stats.GroupBy.STAGE, stats.GroupBy.OWNER]
    plain = customers.CustomerFilter()
    ms = await timed(lambda: stats.customer_stats(org_id=org_id, f=plain, group_by=groups),
                     max(3, repeats // 10))
    print(summary("customerStats(groupBy: [STAGE, OWNER])", ms))
    scope = stats.OrderScope()
    for distinct in (False, True):
        ms = await timed(lambda d=distinct: stats.order_stats(
            org_id=org_id, scope=scope, group_by=[stats.GroupBy.MONTH], customer_count=d,
        ), max(3, repeats // 10))
        print(summary(f"orderStats(groupBy: [MONTH]){' + customerCount' * distinct}", ms))


GRAPHQL = """
query($filter: CustomerFilter) {
  customers(first: 20, filter: $filter) { nodes { id name email stage } }
}"""


def graphql_filter(now: datetime) -> dict[str, Any]:
    """The combined filter as API input."""
    return {
        "orders": {"since": (now - timedelta(days=365)).isoformat(), "totalSpent": {"gte": "200"}},
        "interactions": {"noInboundWithinDays": 60},
        "or": [{"owner": {"role": "AGENT"}}, {"minChurnRisk": 0.6}],
        "not": {"stages": ["CHURNED"]},
    }


async def bench_graphql(url: str, settings: Settings, org_id: int, repeats: int) -> None:
    """The same first page through the whole app (in-process HTTP, no network)."""
    import httpx

    from app.main import create_app
    from auth import identity as auth

    user = await fetch_one(
        "SELECT id FROM app_user WHERE organization_id = $1 ORDER BY id LIMIT 1", [org_id]
    )
    if user is None:
        return
    token = auth.issue_token({"id": user["id"], "organization_id": org_id}, settings)
    transport = httpx.ASGITransport(app=create_app(settings, url))
    body = {"query": GRAPHQL, "variables": {"filter": graphql_filter(datetime.now(UTC))}}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        async def one() -> None:
            response = await http.post("/graphql", json=body,
                                       headers={"Authorization": f"Bearer {token}"})
            assert "errors" not in response.json(), response.text

        print(summary("combined filter via GraphQL, first 20", await timed(one, repeats)))


async def bench_walk(org_id: int, page_size: int) -> None:
    """Page through every customer; compare page latency at the start and at the end."""
    sort = customers.SORTS["CREATED_AT_DESC"]
    after: tuple[Any, int] | None = None
    latencies: list[float] = []
    seen = 0
    while True:
        args = PageArgs(limit=page_size, backward=False, after=after, before=None)
        start = time.perf_counter()
        page = await fetch_page(customers.source(org_id, customers.CustomerFilter()), sort, args)
        latencies.append((time.perf_counter() - start) * 1000)
        seen += len(page.rows)
        if not page.has_next:
            break
        last = page.rows[-1]
        after = (last["sort_key"], last["id"])
    tenth = max(1, len(latencies) // 10)
    print(f"cursor walk: {seen} customers in {len(latencies)} pages of {page_size}")
    print(summary("  first 10% of pages", latencies[:tenth]))
    print(summary("  last 10% of pages", latencies[-tenth:]))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--org", default="analytics", help="organization slug")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--fake-scores", action="store_true",
                        help="score 60%% of the customers with made-up risks if none are scored")
    args = parser.parse_args()
    settings = Settings(
        env="development", database_url=args.database_url, secret_key="bench-" + "x" * 40
    )
    await database.connect(args.database_url, settings)
    try:
        org = await fetch_one("SELECT id FROM organization WHERE slug = $1", [args.org])
        if org is None:
            raise SystemExit(f"no organization {args.org!r}: seed it first (bench/ANALYTICS.md)")
        n = await fetch_one("SELECT count(*) AS n FROM customer WHERE organization_id = $1",
                            [org["id"]])
        print(f"organization {args.org}: {n['n'] if n else 0} customers")
        if args.fake_scores:
            await ensure_predictions(org["id"])
        await bench_filter(org["id"], args.repeats)
        await bench_graphql(args.database_url, settings, org["id"], args.repeats)
        await bench_walk(org["id"], args.page_size)
    finally:
        await database.disconnect()


if __name__ == "__main__":
    asyncio.run(main())
