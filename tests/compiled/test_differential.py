"""The compiled path answers exactly as the generic executor does, byte for byte.

Two apps on the same database, one with compiled queries and one without, receive the same
generated documents (``corpus.py``) from every kind of principal: each role, API keys with and
without ``pii:read`` or a nested scope, another organization's admin, and no token (a VIEWER
reads no personal data: its answers are masked, a personal custom field included). Responses
must be identical bytes, status codes included: data, errors with paths and codes, extensions.

Every other test also checks this: the suite's app runs with ``compiled_verify`` on, so each
query a test sends is answered by the compiled path and compared with the generic executor.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest

from app.graphql import build_schema
from core.config import Settings
from db.enums import Channel, Direction, LifecycleStage, OrderStatus, Role
from db.models import Customer
from db.sql import fetch
from tests.compiled.corpus import Generator, Ids
from tests.factories import (
    gid,
    make_customer,
    make_email_message,
    make_interaction,
    make_order,
    make_org,
    make_user,
    token_for,
)
from tests.security_helpers import make_key

DOCUMENTS = 150
READ_SCOPES = ["customers:read", "interactions:read", "orders:read", "email:read",
               "predictions:read"]


async def _world(settings: Settings) -> tuple[dict[str, str | None], Ids]:
    """An organization with varied data, and a bearer token per principal."""
    org = await make_org()
    await fetch("UPDATE organization SET personal_custom_fields = '{note}' WHERE id = $1",
                [org.id])
    users = {role: await make_user(org, role=role) for role in Role}
    start = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    people = []
    for n in range(6):
        customer = await make_customer(
            org, owner=users[Role.AGENT] if n % 2 else None,
            email=f"person{n}@example.com" if n != 3 else None,
            phone="+4930123456" if n % 3 == 0 else None,
            street="Hauptstr. 1" if n % 2 == 0 else None, city="Berlin", country="DE",
            tags=["vip", "b2b"][: n % 3], custom_fields={"tier": n, "note": "ü"},
            stage=list(LifecycleStage)[n % 4], name=f"Customer Ñ{n}",
        )
        people.append(customer)
        for k in range(n % 4 + 1):
            interaction = await make_interaction(
                customer, channel=list(Channel)[(n + k) % len(Channel)],
                direction=Direction.OUTBOUND if k % 2 else Direction.INBOUND,
                occurred_at=start + timedelta(hours=k, microseconds=n * 7),
                created_by=users[Role.ADMIN] if k % 2 else None,
                subject=None if k == 2 else f"Subject {k}",
                metadata={"from": f"person{n}@example.com", "messageId": f"<{n}.{k}>"}
                if k % 2 == 0 else {},
            )
            if interaction.channel == Channel.EMAIL and k % 2:
                await make_email_message(interaction)
        for k in range(n % 3):
            await make_order(
                customer, amount=Decimal("19.90") * (k + 1), currency=("EUR", "USD")[k % 2],
                status=(OrderStatus.PAID, OrderStatus.PENDING)[k % 2],
                placed_at=start - timedelta(days=k),
                line_items=[{"sku": "A-1", "name": "Widget", "quantity": 2,
                             "unit_price": "9.95"}],
            )
    await fetch(
        "INSERT INTO prediction (organization_id, customer_id, churn_risk, expected_revenue,"
        " expected_orders, segment, reasons, model_version, as_of, horizon_days, scored_at)"
        " VALUES ($1, $2, 0.42, 120.5, 1.5, 'Loyal', $3::jsonb, 'v1', $4, 90, $4)",
        [org.id, people[0].id,
         orjson.dumps([{"feature": "recency", "direction": "UP", "weight": 0.3}]).decode(),
         start],
    )
    await Customer.filter(id=people[5].id).update(
        deleted_at=start, merged_into_id=people[4].id
    )
    other = await make_org()
    stranger = await make_customer(other)
    ids = Ids({
        "Customer": [gid(c) for c in (*people, stranger)],
        "Interaction": [], "Order": [],
    })
    for kind, table in (("Interaction", "interaction"), ("Order", "customer_order")):
        rows = await fetch(f"SELECT id FROM {table} WHERE organization_id = $1", [org.id])
        from schema.node import to_global_id

        ids.by_type[kind] = [to_global_id(kind, row["id"]) for row in rows]
    tokens: dict[str, str | None] = {
        role.value: token_for(user, settings) for role, user in users.items()
    }
    tokens["key with pii:read"] = await make_key(org.id, [*READ_SCOPES, "pii:read"])
    tokens["key without pii:read"] = await make_key(org.id, READ_SCOPES)
    tokens["key with customers:read only"] = await make_key(org.id, ["customers:read"])
    tokens["other organization"] = token_for(await make_user(other), settings)
    tokens["anonymous"] = None
    return tokens, ids


def _app(db: str, settings: Settings, compiled: bool) -> Any:
    from app.main import create_app

    return create_app(settings.model_copy(update={
        "compiled_queries": compiled, "compiled_verify": False,
        # budgets of each app's own (not shared through the database): both paths charge the
        # same points, so rateLimit.remaining and the RateLimit-* headers are the same bytes too
        "rate_limit_shared": False,
        # one window for the whole test: a window ending between the two apps' answers to
        # the same request would leave one with a fresh budget and the other without
        "rate_limit_window_seconds": 86_400,
    }), db)


def _same_null_data(a: httpx.Response, b: httpx.Response) -> bool:
    """Both answers null the whole ``data`` with the same status and extensions, and agree on
    at least one error. Once a non-null root field fails, graphql-core stops collecting the
    errors of fields still running, so which of them are listed follows the database's timing
    (the generic executor run twice differs the same way); the rest must match byte for byte."""
    if a.status_code != b.status_code:
        return False
    left, right = a.json(), b.json()
    if "data" not in left or left.get("data") is not None or right.get("data", 1) is not None:
        return False
    if left.get("extensions") != right.get("extensions"):
        return False
    mine = {orjson.dumps(e) for e in left.get("errors") or ()}
    theirs = {orjson.dumps(e) for e in right.get("errors") or ()}
    return bool(mine & theirs)


async def _settled() -> None:
    """Let the work an answer left behind finish: when a non-null field fails, graphql-core
    answers at once and settles the sibling resolvers still pending in background tasks. A
    test that moved on would leave them to the event loop's teardown, where coroutines not yet
    started are reported as never awaited."""
    pending = asyncio.all_tasks() - {asyncio.current_task()}
    if pending:
        await asyncio.wait(pending, timeout=10)


@pytest.mark.parametrize("seed", [1, 2])
async def test_generated_documents_answer_the_same_bytes(db, settings, seed) -> None:
    tokens, ids = await _world(settings)
    schema = build_schema(settings)._schema
    generator = Generator(schema, ids, seed)
    documents = [generator.document() for _ in range(DOCUMENTS)]
    compiled_app, generic_app = _app(db, settings, True), _app(db, settings, False)
    differences: list[str] = []
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=compiled_app),
                          base_url="http://crm.test") as fast,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=generic_app),
                          base_url="http://crm.test") as slow,
    ):
        for document in documents:
            body = {"query": document.query, "variables": document.variables}
            for principal, token in tokens.items():
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                a = await fast.post("/graphql", json=body, headers=headers)
                b = await slow.post("/graphql", json=body, headers=headers)
                await _settled()
                if (a.status_code, a.content) != (b.status_code, b.content) and not (
                    _same_null_data(a, b)
                ):
                    differences.append(
                        f"{principal}: {document.query} {document.variables}\n"
                        f"  compiled {a.status_code} {a.text[:600]}\n"
                        f"  generic  {b.status_code} {b.text[:600]}"
                    )
    assert not differences, f"{len(differences)} differ, first:\n" + "\n".join(differences[:3])
    counts = compiled_app.state.compiler.counts
    # the corpus must exercise the compiled path, not only its fallbacks
    assert counts["compiled"] >= DOCUMENTS, counts


async def test_summaries_of_sibling_lists_stay_with_their_customers(api, org) -> None:
    """Each level's batched summaries belong to its own customers (the suite's app verifies
    the compiled answer against the generic one)."""
    first, last = await make_customer(org), await make_customer(org)
    await make_interaction(first, occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
    await make_interaction(last, occurred_at=datetime(2026, 2, 1, tzinfo=UTC))
    data = await api.data("""{
      a: customers(first: 1, orderBy: CREATED_AT_ASC) { nodes { lastInteractionAt } }
      b: customers(first: 1, orderBy: CREATED_AT_DESC) { nodes { lastInteractionAt } } }""")
    assert data["a"]["nodes"][0]["lastInteractionAt"].startswith("2026-01-01")
    assert data["b"]["nodes"][0]["lastInteractionAt"].startswith("2026-02-01")


async def test_forgiving_search_answers_the_same_on_both_paths(api, org) -> None:
    """``customers(filter: {search})`` runs its root resolver on the compiled path too, so the
    ranking and the page are the generic path's (the suite's app verifies every answer)."""
    for name in ("Sara Ledesma Mora", "Sara Mora", "Peter Godard"):
        await make_customer(org, name=name)
    data = await api.data("""{
      ranked: customers(first: 2, filter: {search: "mora sara"}, orderBy: RELEVANCE) {
        nodes { name } pageInfo { hasNextPage } }
      typo: customers(filter: {search: "Goddard"}) { nodes { name } totalCount } }""")
    assert [n["name"] for n in data["ranked"]["nodes"]] == ["Sara Mora", "Sara Ledesma Mora"]
    assert data["typo"] == {"nodes": [{"name": "Peter Godard"}], "totalCount": 1}
