"""Migrations upgrade a database that holds data, not only an empty one.

A database migrated to an early migration gets organizations, users, customers and orders,
then every later migration runs over them (a NOT NULL column without a default, or a data
step that trips on real rows, fails here first).
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest

from core import database

EARLY = "0011_customer_duplicates"


@pytest.fixture
async def early_database(server_url: str) -> AsyncIterator[str]:
    name = f"crm_upgrade_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(**database.connection_params(server_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(server_url)._replace(path=f"/{name}"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _migrate(url: str, target: str | None) -> None:
    """Migrate in a process of its own: Tortoise's connections are per process, and this
    one's belong to the session's database."""
    script = (
        "import asyncio, sys\n"
        "from tortoise.migrations.api.migrate import migrate\n"
        "from core import database\n"
        "from core.config import Settings\n"
        "config = database.tortoise_config(sys.argv[1], Settings(env='development'))\n"
        "target = sys.argv[2] or None\n"
        "asyncio.run(migrate(config=config, app_labels=['crm'] if target else None,"
        " target=f'crm.{target}' if target else None))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, url, target or ""], check=False,
                          cwd=Path(__file__).resolve().parents[2], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr


async def test_every_later_migration_runs_over_existing_rows(
    early_database: str,
) -> None:
    _migrate(early_database, EARLY)
    conn = await asyncpg.connect(**database.connection_params(early_database))
    try:
        org = await conn.fetchval(
            "INSERT INTO organization (name, slug, currency, created_at)"
            " VALUES ('Old', 'old', 'EUR', now()) RETURNING id")
        await conn.execute(
            "INSERT INTO app_user (organization_id, email, name, password_hash, role, is_active,"
            " created_at) VALUES ($1, 'a@example.com', 'A', 'x', 'ADMIN', true, now())", org)
        customer = await conn.fetchval(
            "INSERT INTO customer (organization_id, kind, name, stage, tags, custom_fields,"
            " email_opt_out, created_at, updated_at) VALUES ($1, 'PERSON', 'C', 'CUSTOMER',"
            " '{}', '{}', false, now(), now()) RETURNING id", org)
        for placed, items in (
            ("2026-01-01", '[{"sku": "Cup-1", "name": "Cup", "quantity": 1, "unit_price": "4"}]'),
            ("2026-02-01", '[{"sku": " cup-1", "name": "Cup (new)", "quantity": 2,'
                           ' "unit_price": "5.00"}, {"name": "Gift wrap", "quantity": 1,'
                           ' "unit_price": "1"}]'),
        ):
            await conn.execute(
                "INSERT INTO customer_order (organization_id, customer_id, amount, currency,"
                " status, placed_at, line_items, created_at, updated_at) VALUES ($1, $2, 10,"
                " 'EUR', 'PAID', $3::text::timestamptz, $4::text::jsonb, now(), now())",
                org, customer, placed, items)
        _migrate(early_database, None)
        products = await conn.fetch(
            "SELECT sku, name, price, currency, active FROM product WHERE organization_id = $1",
            org)
        assert [tuple(p) for p in products] == [("cup-1", "Cup (new)", 5, "EUR", True)]
        assert await conn.fetchval(
            "SELECT create_unknown_products FROM organization WHERE id = $1", org) is False
    finally:
        await conn.close()
