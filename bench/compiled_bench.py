"""The compiled query path against the generic executor and a hand-written endpoint, over HTTP.

Prints figures, decides nothing. Three servers on the same seeded database, one at a time:
`crm serve` with compiled queries off (the generic Strawberry executor), `crm serve` as shipped
(compiled plans), and bench/baseline_app.py (Starlette + asyncpg, the same JSON written by
hand). Each gets the nested customers page and the light lookup ``customer(id:) { id name
email }`` from bench/load.py (its own process). Reported per server and document: requests/s,
p50/p99 latency, server CPU per request, and the ratios to the hand-written baseline; for the
compiled server also its resident memory before and after the load.

    .venv/bin/python bench/compiled_bench.py                 # 10,000 customers, ~4 minutes
    .venv/bin/python bench/compiled_bench.py --duration 600  # memory over a 10-minute load
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
BENCH_SETTINGS = {
    "CRM_RATE_LIMIT_POINTS": "1000000000",
    "CRM_ML_RESCORE_INTERVAL_SECONDS": "0", "CRM_LOG_LEVEL": "WARNING",
    "CRM_ML_RETRAIN_INTERVAL": "0",  # no training in the measured server
}
for _name, _value in BENCH_SETTINGS.items():
    os.environ.setdefault(_name, _value)

from bench import dataset, queries, servers, throughput  # noqa: E402
from bench.console import say  # noqa: E402

LIGHT = "query Light($id: ID!) { customer(id: $id) { id name email } }"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="compiled_bench.py", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000, help="customers to seed")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent connections")
    parser.add_argument("--duration", type=float, default=15.0,
                        help="measured seconds per server and document")
    parser.add_argument("--warmup", type=float, default=4.0, help="unmeasured seconds first")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--database-url", help="PostgreSQL to use (as graphql_bench.py)")
    parser.add_argument("--embedded", action="store_true", help="use bench/.data's server")
    parser.add_argument("--only", choices=("nested", "light"), help="one document only")
    parser.add_argument("--servers", default="generic,compiled,hand-written",
                        help="which servers, comma-separated (e.g. compiled for a memory run)")
    return parser.parse_args(argv)


def _rss_mb(server: servers.Server) -> float:
    total = 0
    for proc in server.processes():
        try:
            total += proc.memory_info().rss
        except Exception:  # noqa: S112  (a worker that just exited)
            continue
    return round(total / 2**20, 1)


def _load(server: servers.Server, path: str, body: dict[str, Any], token: str,
          args: argparse.Namespace, url: str) -> dict[str, Any]:
    return throughput.measure(
        server, url=url, path=path, body=body, token=token, concurrency=args.concurrency,
        duration=args.duration, warmup=args.warmup,
    )


def run(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    target = dataset.choose(args.database_url, embedded=args.embedded)
    dataset.prepare(target, args.customers, reseed=False)
    documents = ("nested", "light") if args.only is None else (args.only,)
    results: dict[str, dict[str, Any]] = {}
    light_id = ""
    wanted = set(args.servers.split(","))
    for name, compiled in (("generic", "false"), ("compiled", "true")):
        if name not in wanted:
            continue
        env = {"CRM_COMPILED_QUERIES": compiled}
        with servers.graphql(target, args.workers, env, name) as server:
            token = servers.login(server)
            first = server.post("/graphql", {"query": queries.CUSTOMERS}, token)
            light_id = first["data"]["customers"]["edges"][0]["node"]["id"]
            bodies = {"nested": {"query": queries.CUSTOMERS},
                      "light": {"query": LIGHT, "variables": {"id": light_id}}}
            for document in documents:
                before = _rss_mb(server)
                found = _load(server, "/graphql", bodies[document], token, args, target.url)
                found.update(rss_mb_before=before, rss_mb_after=_rss_mb(server))
                results[f"{name} {document}"] = found
    if "hand-written" not in wanted:
        return results
    with servers.baseline(target, args.workers) as base:
        bodies = {"nested": ("/customers", {"first": queries.PAGE_SIZE,
                                            "interactionsFirst": queries.NESTED_SIZE}),
                  "light": ("/customer", {"id": light_id})}
        for document in documents:
            path, body = bodies[document]
            results[f"hand-written {document}"] = _load(base, path, body, token, args, target.url)
    return results


def show(results: dict[str, dict[str, Any]]) -> None:
    print(f"{'server and document':<24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
          f" {'CPU ms/req':>10} {'vs hand-written':>16} {'RSS MB':>14} {'errors':>7}")
    for key, r in results.items():
        document = key.split(" ")[-1]
        base = results.get(f"hand-written {document}")
        ratio = f"{r['rps'] / base['rps']:.2f}x" if base and base.get("rps") else "-"
        rss = f"{r['rss_mb_before']}->{r['rss_mb_after']}" if "rss_mb_before" in r else ""
        print(f"{key:<24} {r['rps']:>8.1f} {r['p50_ms'] or 0:>8.1f} {r['p99_ms'] or 0:>8.1f}"
              f" {r['server_cpu_ms_per_request'] or 0:>10.2f} {ratio:>16} {rss:>14}"
              f" {r['errors']:>7}")


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", message="The HMAC key is")
    args = parse_args(argv)
    results = run(args)
    say("Done")
    show(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
