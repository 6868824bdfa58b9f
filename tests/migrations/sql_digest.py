"""Prints the SHA-256 of the SQL each migration runs, one ``digest  name`` line per migration.

Run as a script (``python -m tests.migrations.sql_digest``): Tortoise's SQL collection
initialises the process-wide Tortoise state, which a test session already holds.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from tortoise import Tortoise
from tortoise.migrations.api.sqlmigrate import sqlmigrate

from core import database
from core.config import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
# collection never connects; the URL only picks the PostgreSQL dialect
URL = "postgresql://nobody@127.0.0.1:1/none"


def migration_names() -> list[str]:
    """Every migration file's module name, in order."""
    return sorted(p.stem for p in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))


async def digests() -> dict[str, str]:
    """Migration name -> SHA-256 of its SQL statements joined by newlines."""
    config = database.tortoise_config(URL, Settings(env="development"))
    out: dict[str, str] = {}
    try:
        for name in migration_names():
            statements = await sqlmigrate(
                config=config, app_label=database.APP_LABEL, migration_name=name
            )
            out[name] = hashlib.sha256("\n".join(statements).encode()).hexdigest()
    finally:
        await Tortoise.close_connections()
    return out


if __name__ == "__main__":
    for migration, digest in asyncio.run(digests()).items():
        print(f"{digest}  {migration}")
