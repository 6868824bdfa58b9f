"""The migrations are the only source of the schema, and they match the models."""

from __future__ import annotations

from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from core import database
from db.sql import fetch


async def test_models_and_migrations_agree(db: str, settings) -> None:
    config = database.tortoise_config(db, settings)
    async with tortoise_cli_context(config) as ctx:
        assert ctx.apps is not None
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    assert writers == [], "models changed without a migration: run makemigrations"


async def test_every_migration_is_applied(db: str, settings) -> None:
    assert await database.pending_migrations(db, settings) == []


async def test_filtered_and_sorted_columns_are_indexed() -> None:
    rows = await fetch("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    names = {row["indexname"] for row in rows}
    assert {
        "customer_search_trgm_idx", "customer_email_uniq", "customer_created_idx",
        "customer_name_idx", "customer_tags_idx", "interaction_customer_idx",
        "interaction_org_idx", "customer_order_customer_idx", "customer_order_org_idx",
    } <= names
