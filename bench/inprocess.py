"""The in-process part: both apps run in this process to count their SQL and compare answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from bench import baseline_app, explain, queries, statements
from bench.search import SearchResult, Term
from core.config import get_settings
from core.database import connection_params

BASELINE_BODY = {"first": queries.PAGE_SIZE, "interactionsFirst": queries.NESTED_SIZE}


@dataclass
class InProcess:
    graphql: statements.StatementCount
    baseline: statements.StatementCount
    graphql_data: Any
    baseline_data: Any
    search_statements: dict[str, statements.Statement] = field(default_factory=dict)


def first_difference(a: Any, b: Any, path: str = "data") -> str | None:
    """Where two JSON values first differ (None when equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: only in {'GraphQL' if key in a else 'baseline'}"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{n}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


async def _data(response: httpx.Response) -> Any:
    response.raise_for_status()
    body = response.json()
    if "errors" in body:
        raise RuntimeError(f"request failed: {body['errors']}")
    return body["data"]


async def measure(url: str, terms: list[Term]) -> InProcess:
    """Count the SQL of one nested page for both apps; capture each search's statement."""
    from app.main import create_app

    settings = get_settings()
    async with statements.in_process(create_app(settings, database_url=url)) as http:
        login = await _data(await http.post("/graphql", json={"query": queries.LOGIN, "variables": {
            "email": queries.EMAIL, "password": queries.PASSWORD}}))
        headers = {"Authorization": f"Bearer {login['login']['accessToken']}"}

        async def graphql_page() -> Any:
            return await _data(await http.post(
                "/graphql", json={"query": queries.CUSTOMERS}, headers=headers))

        graphql = await statements.count(graphql_page)
        graphql_data = await graphql_page()
        searches: dict[str, statements.Statement] = {}
        for term in terms:
            with statements.recording() as log:
                await _data(await http.post("/graphql", headers=headers, json={
                    "query": queries.SEARCH, "variables": {"search": term.text}}))
            searches.update((term.text, s) for s in log if "search_text LIKE" in s.sql)

    async with statements.in_process(baseline_app.create_app(settings, url)) as http:

        async def baseline_page() -> Any:
            return await _data(await http.post("/customers", json=BASELINE_BODY, headers=headers))

        baseline = await statements.count(baseline_page)
        baseline_data = await baseline_page()
    return InProcess(graphql, baseline, graphql_data, baseline_data, searches)


async def explain_searches(url: str, results: list[SearchResult], found: InProcess) -> None:
    """Attach the custom and generic plans of each search's statement to its result."""
    conn = await asyncpg.connect(**connection_params(url))
    try:
        for result in results:
            statement = found.search_statements.get(result.term.text)
            if statement is None:
                result.notes.append("no search condition in the SQL (blank term)")
                continue
            result.custom_plan = await explain.custom_plan(conn, statement.sql, statement.args)
            result.generic_plan = await explain.generic_plan(conn, statement.sql, statement.args)
    finally:
        await conn.close()
