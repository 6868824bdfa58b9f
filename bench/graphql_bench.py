"""Benchmark of the core graph: a nested customers page over HTTP, GraphQL vs hand-written.

Prints figures, decides nothing: requests/s and latency under load for `crm serve` and for a
hand-written Starlette + asyncpg endpoint returning the same JSON, SQL statements per request,
and search latency with the query plans behind it. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
# One user's token drives the load far past the per-user rate limit, and the subject is the
# graph, not background jobs: both off (for the servers and the in-process apps alike) unless
# the environment says otherwise.
BENCH_SETTINGS = {
    "CRM_RATE_LIMIT_POINTS": "1000000000",
    "CRM_ML_RESCORE_INTERVAL_SECONDS": "0",
    "CRM_ML_RETRAIN_INTERVAL": "0",  # no training in the measured server
}
for _name, _value in BENCH_SETTINGS.items():
    os.environ.setdefault(_name, _value)

from bench import dataset, inprocess, queries, report, search, servers, throughput  # noqa: E402
from bench.console import say  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="graphql_bench.py", description=__doc__.splitlines()[0],
        epilog="Database: --database-url, else DATABASE_URL, else a database crm_bench on "
        "postgresql://postgres@127.0.0.1:5432 if it answers, else the embedded server in "
        "bench/.data. Results are also written to bench/results/<time>.json.",
    )
    parser.add_argument("--customers", type=int, default=10_000,
                        help="customers to seed (about 20 interactions and 3 orders each)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent connections")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per server")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds first")
    parser.add_argument("--workers", type=int, default=1, help="server processes (both servers)")
    parser.add_argument("--database-url", help="PostgreSQL to use (see below)")
    parser.add_argument("--embedded", action="store_true",
                        help="use the embedded PostgreSQL in bench/.data even if others exist")
    parser.add_argument("--reseed", action="store_true",
                        help="empty the bench organization and seed again")
    parser.add_argument("--search-only", action="store_true",
                        help="skip the load phases and the baseline; measure search only")
    parser.add_argument("--search-repeats", type=int, default=50,
                        help="sequential requests per search term")
    parser.add_argument("--results-dir", type=Path, default=REPO / "bench" / "results")
    return parser.parse_args(argv)


def _masked(url: str) -> str:
    parts = urlparse(url)
    if not parts.password:
        return url
    return urlunparse(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def _problems(results: dict[str, Any]) -> list[str]:
    found = []
    if results.get("responses_match") is False:
        found.append(f"GraphQL and baseline differ: {results['responses_difference']}")
    for side in ("graphql", "baseline"):
        load = (results.get(side) or {}).get("load") or {}
        if load.get("errors"):
            found.append(f"{side}: {load['errors']} errors, e.g. {load['error_samples'][:1]}")
        if (load.get("other_cpu_percent") or 0) > 20:
            found.append(f"{side}: other processes used {load['other_cpu_percent']}% CPU "
                         "during the measurement; figures are pessimistic")
    customers = results["data"]["customers"]
    for r in results["search"]:
        for kind in ("custom_plan", "generic_plan"):
            plan = r[kind]
            # a scan in created_at order is right for common terms; reading most rows is not
            if (plan and not plan["uses_trigram_index"] and len(r["term"]) >= 3
                    and plan["rows_scanned"] >= customers / 2):
                found.append(f"search {r['term']!r}: the {kind.replace('_', ' ')} does not use "
                             f"customer_search_trgm_idx ({plan['execution_ms']} ms, "
                             f"{plan['rows_scanned']:,} rows scanned)")
    return found


def _machine() -> dict[str, Any]:
    return {"logical_cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average": ", ".join(f"{x:.2f}" for x in os.getloadavg())}


def run(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """Every phase, in order, filling ``results`` (JSON-ready) as it goes."""
    target = dataset.choose(args.database_url, embedded=args.embedded)
    results["database"] = {"kind": target.kind, "url": _masked(target.url)}
    seed = dataset.prepare(target, args.customers, reseed=args.reseed)
    results["data"] = {"org": queries.ORG, "customers": seed.customers, "orders": seed.orders,
                       "interactions": seed.interactions, "server_version": seed.server_version}
    results["seed"] = {
        "reused": seed.reused, "seeded_customers": seed.seeded_customers,
        "seed_seconds": seed.seed_seconds, "vacuum_seconds": seed.vacuum_seconds,
        "customers_per_second": seed.seeded_customers / seed.seed_seconds
        if seed.seed_seconds else None, "notes": seed.notes,
    }
    if seed.seed_seconds:
        say(f"Seeded {seed.seeded_customers:,} customers in {seed.seed_seconds:.1f} s, "
            f"VACUUM (ANALYZE) {seed.vacuum_seconds:.1f} s")
    terms = asyncio.run(search.pick_terms(target.url))
    say("Counting SQL statements in-process and comparing answers ...")
    found = asyncio.run(inprocess.measure(target.url, terms))
    results["graphql"] = {"statements": found.graphql.as_dict()}
    if not args.search_only:
        results["baseline"] = {"statements": found.baseline.as_dict()}
    difference = inprocess.first_difference(found.graphql_data, found.baseline_data)

    load_args = {"concurrency": args.concurrency, "duration": args.duration,
                 "warmup": args.warmup, "url": target.url}
    with servers.graphql(target, args.workers) as gql:
        token = servers.login(gql)
        served_graphql = gql.post("/graphql", {"query": queries.CUSTOMERS}, token)["data"]
        if not args.search_only:
            results["graphql"]["load"] = throughput.measure(
                gql, path="/graphql", body={"query": queries.CUSTOMERS}, token=token, **load_args)
        throughput.wait_for_quiet()
        say(f"Search: {len(terms)} terms x {args.search_repeats} sequential requests")
        searched = [search.measure(gql, token, term, args.search_repeats) for term in terms]
    asyncio.run(inprocess.explain_searches(target.url, searched, found))
    results["search"] = [r.as_dict() for r in searched]

    if not args.search_only:
        with servers.baseline(target, args.workers) as base:
            served_baseline = base.post("/customers", inprocess.BASELINE_BODY, token)["data"]
            difference = difference or inprocess.first_difference(served_graphql, served_baseline)
            results["baseline"]["load"] = throughput.measure(
                base, path="/customers", body=inprocess.BASELINE_BODY, token=token, **load_args)
        results["responses_match"] = difference is None
        results["responses_difference"] = difference
    results["problems"] = _problems(results)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # the development secret is 29 bytes; PyJWT warns about it on every token
    warnings.filterwarnings("ignore", message="The HMAC key is")
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "settings": {k: os.environ[k] for k in BENCH_SETTINGS}, "machine": _machine(),
        "query": queries.CUSTOMERS, "search_query": queries.SEARCH,
    }
    try:
        run(args, results)
    except BaseException as exc:
        # keep what was measured (e.g. a long seed) even when a later phase fails
        results["error"] = f"{type(exc).__name__}: {exc}"
        path = report.save(results, args.results_dir)
        say(f"Failed; partial results in {path}")
        raise
    report.show(results)
    path = report.save(results, args.results_dir)
    report.out.print(f"[dim]Written to {path}[/dim]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
