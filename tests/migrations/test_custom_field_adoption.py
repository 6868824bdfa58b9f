"""Migration 0022 adopts the free-form custom fields customers hold as typed definitions,
where every value of a key agrees on a type."""

from __future__ import annotations

import asyncpg
import orjson

from core import database
from tests.migrations.test_upgrade import _migrate, early_database  # noqa: F401 (fixture)

BEFORE = "0017_companies_deals_tasks"
VALUES = [
    {"vip": True, "seats": 3, "renewal": "2031-01-31", "site": "https://a.example",
     "billing": "a@a.example", "note": "hello", "topics": ["ml", "crm"], "mixed": 1,
     "Bad Key": "x", "empty": None},
    {"vip": False, "seats": 4.5, "renewal": "2030-02-01", "site": "http://b.example",
     "billing": "b@b.example", "note": "", "topics": ["erp"], "mixed": "one"},
]


async def test_free_form_keys_become_defined_fields(early_database: str) -> None:  # noqa: F811
    _migrate(early_database, BEFORE)
    conn = await asyncpg.connect(**database.connection_params(early_database))
    try:
        org = await conn.fetchval(
            "INSERT INTO organization (name, slug, currency, created_at)"
            " VALUES ('Old', 'old', 'EUR', now()) RETURNING id")
        for values in VALUES:
            await conn.execute(
                "INSERT INTO customer (organization_id, kind, name, stage, tags, custom_fields,"
                " email_opt_out, created_at, updated_at) VALUES ($1, 'PERSON', 'C', 'LEAD',"
                " '{}', $2::text::jsonb, false, now(), now())", org, orjson.dumps(values).decode())
        _migrate(early_database, None)
        rows = await conn.fetch(
            "SELECT key, label, field_type, options FROM custom_field_definition"
            " WHERE organization_id = $1 AND object_type = 'CUSTOMER' ORDER BY key", org)
        assert [tuple(r) for r in rows] == [
            ("billing", "Billing", "EMAIL", []),
            ("note", "Note", "TEXT", []),
            ("renewal", "Renewal", "DATE", []),
            ("seats", "Seats", "NUMBER", []),
            ("site", "Site", "URL", []),
            ("topics", "Topics", "MULTI_SELECT", ["crm", "erp", "ml"]),
            ("vip", "Vip", "BOOLEAN", []),
        ]
    finally:
        await conn.close()
