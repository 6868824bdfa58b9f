"""The migrated database's own list of rules: CHECK, NOT NULL, varchar length and unique.

Keys name each rule the same way whatever its kind, e.g. ``check customer.customer_phone_e164``,
``not null customer.name``, ``length customer.name 200``, ``unique customer.customer_email_uniq``
(unique constraints and unique indexes alike, partial and expression ones included).
"""

from __future__ import annotations

from db.sql import fetch


async def rules() -> dict[str, str]:
    """Every rule of the public tables (primary keys aside): key -> its definition."""
    found: dict[str, str] = {}
    for row in await fetch(
        "SELECT c.conrelid::regclass::text AS tab, c.conname, pg_get_constraintdef(c.oid) AS def"
        " FROM pg_constraint c WHERE c.connamespace = 'public'::regnamespace"
        " AND c.contype = 'c'"
    ):
        found[f"check {row['tab']}.{row['conname']}"] = row["def"]
    for row in await fetch(
        "SELECT i.indrelid::regclass::text AS tab, i.indexrelid::regclass::text AS name,"
        " pg_get_indexdef(i.indexrelid) AS def FROM pg_index i"
        " JOIN pg_class t ON t.oid = i.indrelid"
        " WHERE t.relnamespace = 'public'::regnamespace AND i.indisunique AND NOT i.indisprimary"
    ):
        found[f"unique {row['tab']}.{row['name']}"] = row["def"]
    for row in await fetch(
        "SELECT table_name, column_name, is_nullable, character_maximum_length AS n,"
        " column_default FROM information_schema.columns WHERE table_schema = 'public'"
    ):
        where = f"{row['table_name']}.{row['column_name']}"
        if row["is_nullable"] == "NO":
            found[f"not null {where}"] = f"NOT NULL default {row['column_default']}"
        if row["n"] is not None:
            found[f"length {where} {row['n']}"] = f"varchar({row['n']})"
    return {key: found[key] for key in sorted(found) if not _internal(key)}


def table_of(key: str) -> str:
    return key.split(" ")[-2 if key.startswith("length") else -1].split(".")[0]


def _internal(key: str) -> bool:
    return table_of(key) == "tortoise_migrations"
