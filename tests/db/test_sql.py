"""Heavy reads go to the read replica when there is one (a second database stands in for it)."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest
from tortoise import connections

from core import database
from db.sql import replica
from services.csv.transfer import export_csv
from tests.factories import make_customer


@pytest.fixture
async def replica_url(server_url: str) -> AsyncIterator[str]:
    name = f"crm_replica_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(**database.connection_params(server_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(server_url)._replace(path=f"/{name}"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def fill_replica(primary_url: str, replica_url: str, org_id: int) -> None:
    """The customer table and the organization's customers, renamed so reads show their source."""
    primary = await asyncpg.connect(**database.connection_params(primary_url))
    target = await asyncpg.connect(**database.connection_params(replica_url))
    try:
        columns = await primary.fetch(
            "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
            " WHERE attrelid = 'customer'::regclass AND attnum > 0 AND NOT attisdropped"
            " ORDER BY attnum"
        )
        await target.execute("CREATE TABLE customer ({})".format(
            ", ".join(f'"{c["attname"]}" {c["type"]}' for c in columns)))
        rows = await primary.fetch("SELECT * FROM customer WHERE organization_id = $1", org_id)
        renamed = [tuple("Replica " + v if k == "name" else v for k, v in r.items())
                   for r in rows]
        await target.copy_records_to_table("customer", records=renamed)
    finally:
        await primary.close()
        await target.close()


def test_without_a_replica_heavy_reads_use_the_default_pool() -> None:
    assert replica() is connections.get("default")


async def test_exports_read_from_the_replica(db, replica_url, org, settings) -> None:
    await make_customer(org, name="Ada")
    await fill_replica(db, replica_url, org.id)
    await database.connect_replica(replica_url, settings)
    try:
        out = io.StringIO()
        assert await export_csv("customers", org.slug, out) == 1
    finally:
        await database.disconnect_replica()
    assert ",Replica Ada," in out.getvalue()
    assert replica() is connections.get("default")
