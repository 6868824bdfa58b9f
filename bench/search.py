"""Search latency: `customers(filter: {search})` for realistic terms, one request at a time."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from bench import queries
from bench.explain import PlanSummary
from bench.load import percentile
from bench.servers import Server
from core.database import connection_params


@dataclass
class Term:
    label: str
    text: str


@dataclass
class SearchResult:
    term: Term
    hits: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    custom_plan: PlanSummary | None = None
    generic_plan: PlanSummary | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.term.label, "term": self.term.text, "hits": self.hits,
            "p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "errors": self.errors,
            "custom_plan": self.custom_plan.as_dict() if self.custom_plan else None,
            "generic_plan": self.generic_plan.as_dict() if self.generic_plan else None,
            "notes": self.notes,
        }


async def pick_terms(url: str) -> list[Term]:
    """Terms taken from the seeded data (same seed, same terms), as a user would type them."""
    conn = await asyncpg.connect(**connection_params(url))
    try:
        org_id = await conn.fetchval("SELECT id FROM organization WHERE slug = $1", queries.ORG)
        total = await conn.fetchval(
            "SELECT count(*) FROM customer WHERE organization_id = $1", org_id
        )

        async def one(where: str) -> asyncpg.Record | None:
            return await conn.fetchrow(
                f"SELECT id, name, email, phone FROM customer WHERE organization_id = $1"
                f" AND {where} ORDER BY id LIMIT 1 OFFSET $2", org_id, total // 3,
            ) or await conn.fetchrow(
                f"SELECT id, name, email, phone FROM customer WHERE organization_id = $1"
                f" AND {where} ORDER BY id LIMIT 1", org_id,
            )

        # the floor: the same request with a blank term, which the API ignores
        terms = [Term("blank (no filter: the floor)", "")]
        person = await one("country IN ('US', 'GB') AND kind = 'PERSON'")
        if person:
            terms.append(Term("surname (part of a name)", person["name"].split()[-1]))
        if person and person["email"]:
            terms.append(Term("email fragment", person["email"].split("@")[0] + "@"))
        phoned = await one("phone IS NOT NULL")
        if phoned:
            terms.append(Term("phone fragment", phoned["phone"][-7:]))
        chinese = await one("country = 'CN' AND kind = 'PERSON' AND char_length(name) = 2")
        if chinese:
            terms.append(Term("2-character Chinese name", chinese["name"]))
        chinese3 = await one("country = 'CN' AND kind = 'PERSON' AND char_length(name) = 3")
        if chinese3:
            terms.append(Term("3-character Chinese name", chinese3["name"]))
        terms.append(Term("common word", "gmbh"))
        terms.append(Term("no match", "xqzvw"))
        return terms
    finally:
        await conn.close()


def measure(server: Server, token: str, term: Term, repeats: int) -> SearchResult:
    """Sequential search requests (after 3 unmeasured ones): p50/p99 and the hit count."""
    result = SearchResult(term)
    payload = {"query": queries.SEARCH, "variables": {"search": term.text}}
    latencies = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=300) as http:
        for n in range(repeats + 3):
            started = time.perf_counter()
            response = http.post("/graphql", json=payload)
            elapsed = time.perf_counter() - started
            body = response.json()
            if "errors" in body:
                result.errors += 1
                if not result.notes:
                    result.notes.append(str(body["errors"])[:200])
                continue
            result.hits = len(body["data"]["customers"]["edges"])
            if n >= 3:
                latencies.append(elapsed)
    latencies.sort()
    for name, q in (("p50_ms", 0.5), ("p99_ms", 0.99)):
        value = percentile(latencies, q)
        setattr(result, name, None if value is None else round(value * 1000, 2))
    return result
