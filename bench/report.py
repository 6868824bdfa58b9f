"""The results as tables on stdout and as JSON in bench/results/."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

# piped output is not cut to 80 columns
out = Console(width=None if sys.stdout.isatty() else 150)
STATEMENTS_NOTE = (
    "SQL statements/request: counted in this process at asyncpg's Connection (every prepared or "
    "simple-protocol statement = one round trip), running each app through httpx's "
    "ASGITransport; pool resets are asyncpg's reset query on every release of a pooled "
    "connection. Server transactions/request: pg_stat_database xact delta during the HTTP load "
    "divided by requests sent (each autocommit statement or reset is one transaction)."
)
PLANS_NOTE = (
    "Plans: EXPLAIN (ANALYZE, BUFFERS) of the exact statement the app sent (captured "
    "in-process). Custom plan = planned with the search term known; generic plan = what a "
    "prepared statement (asyncpg prepares every statement) may switch to from its 6th "
    "execution on a connection, planned without the term. 'rows' = rows the scans read or "
    "filtered out. The search statement's text is the same for every term, so later terms run "
    "on whichever plan the server's connections settled on: compare 'p50 - floor' (the blank "
    "term's p50) with the two plan times. Full node chains are in the JSON file."
)


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _ratio(a: Any, b: Any) -> str:
    if not a or not b:
        return "-"
    return f"{a / b:.2f}x"


def _setup(results: dict[str, Any]) -> Table:
    table = Table(title="Setup", show_header=False, title_justify="left")
    data, seed, machine = results["data"], results["seed"], results["machine"]
    table.add_row("database", f"{results['database']['kind']}: {results['database']['url']}"
                  f" (PostgreSQL {data['server_version']})")
    table.add_row("data", f"{data['customers']:,} customers, {data['interactions']:,} "
                  f"interactions, {data['orders']:,} orders (org '{data['org']}')")
    if seed["reused"]:
        table.add_row("seed", "reused an already seeded database (--reseed to redo)")
    else:
        table.add_row("seed", f"crm seed of {seed['seeded_customers']:,} customers: "
                      f"{seed['seed_seconds']:.1f} s ({seed['customers_per_second']:,.0f}"
                      f" customers/s); VACUUM ANALYZE after it {seed['vacuum_seconds']:.1f} s")
    for note in seed["notes"]:
        table.add_row("", note)
    table.add_row("machine", f"{machine['logical_cpus']} logical CPUs shared by the server, "
                  f"the load process and PostgreSQL (load average at start "
                  f"{machine['load_average']})")
    args = results["arguments"]
    table.add_row("load", f"{args['concurrency']} concurrent keep-alive connections, "
                  f"{args['warmup']:g} s warm-up, {args['duration']:g} s measured, "
                  f"{args['workers']} server worker(s)")
    table.add_row("settings", ", ".join(f"{k}={v}" for k, v in results["settings"].items())
                  + " (rate limits and background re-scoring out of the way)")
    return table


def _load(results: dict[str, Any]) -> Table:
    g, b = results["graphql"], results.get("baseline") or {}
    table = Table(title="Nested page: customers(first: 50) with owner, lifetimeValue, "
                  "lastInteractionAt, interactions(first: 5)", title_justify="left")
    for column in ("", "GraphQL (crm serve)", "baseline (hand-written)", "GraphQL / baseline"):
        table.add_column(column, justify="left" if not column else "right")
    gl, bl = g.get("load") or {}, b.get("load") or {}
    rows = [
        ("requests/s", "rps", 1), ("latency p50 ms", "p50_ms", 2), ("latency p90 ms", "p90_ms", 2),
        ("latency p99 ms", "p99_ms", 2), ("errors", "errors", 0),
    ]
    for label, key, digits in rows:
        ratio = _ratio(gl.get(key), bl.get(key)) if key != "errors" else ""
        table.add_row(label, _num(gl.get(key), digits), _num(bl.get(key), digits), ratio)
    gs, bs = g["statements"], b.get("statements") or {}
    table.add_row("SQL statements/request", _num(gs["per_request"]),
                  _num(bs.get("per_request")), _ratio(gs["per_request"], bs.get("per_request")))
    table.add_row("+ pool reset round trips", _num(gs["pool_resets_per_request"]),
                  _num(bs.get("pool_resets_per_request")), "")
    for label, key in (
        ("server CPU ms/request", "server_cpu_ms_per_request"),
        ("PostgreSQL CPU ms/request", "postgres_cpu_ms_per_request"),
    ):
        table.add_row(label, _num(gl.get(key), 2), _num(bl.get(key), 2),
                      _ratio(gl.get(key), bl.get(key)))
    for label, key in (
        ("server transactions/request", "server_transactions_per_request"),
        ("server CPU % (100 = 1 core)", "server_cpu_percent"),
        ("PostgreSQL CPU %", "postgres_cpu_percent"),
        ("load client CPU %", "client_cpu_percent"),
        ("other processes CPU %", "other_cpu_percent"),
    ):
        table.add_row(label, _num(gl.get(key), 1), _num(bl.get(key), 1), "")
    return table


def _search(results: dict[str, Any]) -> Table:
    table = Table(title=f"Search: customers(first: 20, filter: {{search}}), sequential, "
                  f"{results['arguments']['search_repeats']} requests per term "
                  f"({results['data']['customers']:,} customers)", title_justify="left")
    for column in ("term", "hits", "p50 ms", "p99 ms", "p50 - floor",
                   "EXPLAIN ANALYZE, custom plan", "generic plan"):
        table.add_column(column, overflow="fold")
    floor = next((r["p50_ms"] for r in results["search"] if not r["term"]), None)
    for r in results["search"]:
        plans = [_plan_cell(r[k]) for k in ("custom_plan", "generic_plan")]
        above = r["p50_ms"] - floor if r["term"] and floor and r["p50_ms"] else None
        table.add_row(f"{r['label']}: {r['term']!r}", _num(r["hits"]), _num(r["p50_ms"], 2),
                      _num(r["p99_ms"], 2), _num(above, 1), *plans)
    return table


def _plan_cell(plan: dict[str, Any] | None) -> str:
    if not plan:
        return "-"
    access = "trgm index" if plan["uses_trigram_index"] else plan["access"]
    return f"{access}; {plan['execution_ms']:.1f} ms; {plan['rows_scanned']:,} rows"


def show(results: dict[str, Any]) -> None:
    """Print every table."""
    out.print(_setup(results))
    if results["graphql"].get("load") or results.get("baseline"):
        out.print(_load(results))
    match = results.get("responses_match")
    if match is not None:
        out.print(f"Same JSON from GraphQL and baseline: [bold]{'yes' if match else 'NO'}[/bold]"
                  + (f" ({results['responses_difference']})" if not match else ""))
    out.print("SQL of one GraphQL request:")
    for n, sql in enumerate(results["graphql"]["statements"]["statements"], 1):
        out.print(f"  {n}. {sql}", highlight=False, soft_wrap=True)
    out.print(f"[dim]{STATEMENTS_NOTE}[/dim]")
    out.print(_search(results))
    out.print(f"[dim]{PLANS_NOTE}[/dim]")
    for problem in results.get("problems", []):
        out.print(f"[yellow]! {problem}[/yellow]")


def save(results: dict[str, Any], directory: Path) -> Path:
    """Write the results as JSON named after the start time; the path written."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{results['started_at'].replace(':', '').replace('-', '')}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return path
