"""The organization a fuzz run works in, and a fingerprint of everything it holds.

One organization of its own with a little of everything (users, customers with orders and
interactions, an email template, a webhook, a spare API key to revoke), an ADMIN user's token
and an API key with every scope. ``fingerprint`` reads the row count and a digest of the rows of
every table holding the organization's data, so a failed mutation can be shown to have written
nothing (not even an update in place).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from auth.scopes import Scope
from core.config import Settings
from db.api_key import PII_AUDIT_ACTION
from db.enums import Role
from db.models import Organization
from db.security_models import ApiKey
from db.sql import fetch
from schema.node import to_global_id
from tests.factories import (
    Api,
    gid,
    make_customer,
    make_interaction,
    make_order,
    make_org,
    make_user,
    token_for,
)
from tests.robustness.hostile import Ids
from tests.security_helpers import make_key

# what changes by a key being used, not by the mutation a request calls: its use times, and
# the audit of its pii:read use (once per period)
VOLATILE_COLUMNS = {"api_key": ("last_used_at", "pii_audited_at")}
USE_ROWS = {"audit_event": f"t.action <> '{PII_AUDIT_ACTION}'"}


@dataclass
class World:
    org: Organization
    ids: Ids
    principals: dict[str, str]  # name -> bearer credential
    tables: list[str]


async def build(http: httpx.AsyncClient, settings: Settings) -> World:
    """A fresh organization with varied data, an admin token and an all-scopes API key."""
    org = await make_org()
    admin, agent = await make_user(org), await make_user(org, role=Role.AGENT)
    ids = Ids()
    ids.add("User", gid(admin))
    ids.add("User", gid(agent))
    start = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    for n in range(8):
        customer = await make_customer(
            org, name=f"Fuzz Customer {n}", email=f"fuzz{n}@example.com" if n != 3 else None,
            phone="+4930123456" if n % 3 == 0 else None, external_ref=f"ext-{n}",
            owner=agent if n % 2 else None, tags=["vip"] if n % 2 else [], country="DE",
        )
        ids.add("Customer", gid(customer))
        ids.add("Interaction", gid(await make_interaction(customer, occurred_at=start)))
        order = await make_order(customer, external_ref=f"order-{n}",
                                 placed_at=start - timedelta(days=n), amount=Decimal(n))
        ids.add("Order", gid(order))
    api = Api(http, token_for(admin, settings))
    template = await api.data(
        'mutation { createEmailTemplate(input: {name: "Fuzz", subject: "Hi {{ customer.name }}",'
        ' text: "Hello"}) { template { id } } }')
    ids.add("EmailTemplate", template["createEmailTemplate"]["template"]["id"])
    hook = await api.data(
        'mutation { createWebhook(input: {url: "https://hooks.invalid/fuzz",'
        ' events: [CUSTOMER_CREATED]}) { webhook { id } } }')
    ids.add("Webhook", hook["createWebhook"]["webhook"]["id"])
    product = await api.data(
        'mutation { upsertProducts(input: {rows: [{sku: "fuzz-1", name: "Fuzz product",'
        ' price: "9.99", currency: "EUR"}]}) { results { product { id } } } }')
    ids.add("Product", product["upsertProducts"]["results"][0]["product"]["id"])
    await make_key(org.id, ["customers:read"])  # the spare key the admin may revoke
    spare = await ApiKey.filter(organization_id=org.id).first()
    assert spare is not None
    ids.add("ApiKey", to_global_id("ApiKey", spare.id))
    key = await make_key(org.id, [scope.value for scope in Scope])
    ids.add("TrainingRun", to_global_id("TrainingRun", await _running_training(org.id)))
    ids.add("Campaign", to_global_id("Campaign", 1))
    principals = {"admin": token_for(admin, settings), "api key": key}
    return World(org, ids, principals, await organization_tables())


async def _running_training(org_id: int) -> int:
    """A run in flight, so trainModels answers with it instead of starting worker processes
    whose writes would race the fingerprints."""
    rows = await fetch(
        "INSERT INTO training_run (organization_id, status, progress, stage, as_of, horizon_days,"
        " backtest, results, created_at, updated_at) VALUES ($1, 'RUNNING', 0, 'fuzz', now(),"
        " 90, false, '[]', now(), now()) RETURNING id", [org_id])
    return int(rows[0]["id"])


async def organization_tables() -> list[str]:
    """Every table with an organization_id column, from the catalog."""
    rows = await fetch(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
        " AND column_name = 'organization_id' ORDER BY table_name")
    return [row["table_name"] for row in rows]


async def fingerprint(world: World) -> dict[str, tuple[int, str]]:
    """Per table of the organization: its row count and a digest of its rows."""
    return await organization_fingerprint(world.org.id, world.tables)


async def organization_fingerprint(org_id: int, tables: list[str]) -> dict[str, tuple[int, str]]:
    """Per table (and refresh_token): the organization's row count and a digest of its rows."""
    parts = []
    for table in [*tables, "refresh_token"]:
        row = "to_jsonb(t)" + "".join(f" - '{c}'" for c in VOLATILE_COLUMNS.get(table, ()))
        scope = ("t.user_id IN (SELECT id FROM app_user WHERE organization_id = $1)"
                 if table == "refresh_token" else "t.organization_id = $1")
        if table in USE_ROWS:
            scope += f" AND {USE_ROWS[table]}"
        parts.append(
            f"SELECT '{table}' AS name, count(*) AS n,"
            f" md5(coalesce(string_agg(({row})::text, ',' ORDER BY ({row})::text), '')) AS digest"
            f" FROM {table} t WHERE {scope}")
    rows = await fetch(" UNION ALL ".join(parts), [org_id])
    return {row["name"]: (row["n"], row["digest"]) for row in rows}


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The tables whose count or rows differ, with the counts."""
    return [f"{name}: {before[name][0]} -> {after[name][0]} rows"
            + ("" if before[name][0] != after[name][0] else " (rows changed)")
            for name in before if before[name] != after[name]]
