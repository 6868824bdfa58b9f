"""EXPLAIN (ANALYZE, BUFFERS) of a statement the app sent, as a one-line summary.

Two plans per statement: the custom plan (parameters known to the planner, what the first five
executions of a prepared statement get) and the generic plan (parameters unknown, what
PostgreSQL may switch a prepared statement to from the sixth execution on, and asyncpg
prepares every statement it runs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg

OPTIONS = "ANALYZE, BUFFERS, FORMAT JSON"
TRIGRAM_INDEX = "customer_search_trgm_idx"


@dataclass(frozen=True)
class PlanSummary:
    """The gist of one EXPLAIN ANALYZE."""

    nodes: str
    access: str  # how the customer rows are reached, e.g. "Seq Scan (customer)"
    uses_trigram_index: bool
    execution_ms: float
    shared_hit: int
    shared_read: int
    rows_scanned: int  # rows the scans produced or removed by a filter/recheck

    def line(self) -> str:
        """One human-readable line."""
        index = "trgm index" if self.uses_trigram_index else "NO trgm index"
        return (
            f"{index}; {self.execution_ms:.1f} ms; buffers hit {self.shared_hit} "
            f"read {self.shared_read}; {self.rows_scanned} rows scanned; {self.nodes}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "access": self.access,
                "uses_trigram_index": self.uses_trigram_index,
                "execution_ms": self.execution_ms, "shared_hit": self.shared_hit,
                "shared_read": self.shared_read, "rows_scanned": self.rows_scanned,
                "line": self.line()}


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node]
    for child in node.get("Plans", []):
        found.extend(_walk(child))
    return found


def _describe(node: dict[str, Any]) -> str:
    name = node["Node Type"]
    if "Index Name" in node:
        return f"{name} ({node['Index Name']})"
    if "Relation Name" in node:
        return f"{name} ({node['Relation Name']})"
    return str(name)


def summarize(explained: Any) -> PlanSummary:
    """Summarize the JSON output of EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)."""
    doc = json.loads(explained) if isinstance(explained, str) else explained
    top = doc[0]
    nodes = _walk(top["Plan"])
    scans = [n for n in nodes if "Scan" in n["Node Type"] and "Bitmap Index" not in n["Node Type"]]
    scanned = sum(
        int(n.get("Actual Rows", 0) * n.get("Actual Loops", 1))
        + int(n.get("Rows Removed by Filter", 0)) + int(n.get("Rows Removed by Index Recheck", 0))
        for n in scans
    )
    return PlanSummary(
        nodes=" > ".join(_describe(n) for n in nodes),
        access=_describe(scans[0]) if scans else "-",
        uses_trigram_index=any(n.get("Index Name") == TRIGRAM_INDEX for n in nodes),
        execution_ms=round(float(top["Execution Time"]), 2),
        shared_hit=int(top["Plan"].get("Shared Hit Blocks", 0)),
        shared_read=int(top["Plan"].get("Shared Read Blocks", 0)),
        rows_scanned=scanned,
    )


def _literal(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "NULL" if value is None else str(value).upper()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no literal for {type(value).__name__}")


async def custom_plan(conn: asyncpg.Connection, sql: str, args: tuple[Any, ...]) -> PlanSummary:
    """The plan with the parameter values known to the planner."""
    return summarize(await conn.fetchval(f"EXPLAIN ({OPTIONS}) {sql}", *args))


async def generic_plan(conn: asyncpg.Connection, sql: str, args: tuple[Any, ...]) -> PlanSummary:
    """The plan a prepared statement gets when PostgreSQL stops replanning it per execution."""
    literals = ", ".join(_literal(a) for a in args)
    await conn.execute(f"PREPARE bench_generic AS {sql}")
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        return summarize(await conn.fetchval(
            f"EXPLAIN ({OPTIONS}) EXECUTE bench_generic({literals})"
        ))
    finally:
        await conn.execute("RESET plan_cache_mode")
        await conn.execute("DEALLOCATE bench_generic")
