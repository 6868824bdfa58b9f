"""Landed migrations never change: a database already past one would never see the edit."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MIGRATIONS = ROOT / "migrations"


def _listed(name: str) -> dict[str, str]:
    """``digest  name`` lines of a checksum file, as name -> digest."""
    lines = (HERE / name).read_text(encoding="utf-8").splitlines()
    return {entry: digest for digest, entry in (line.split() for line in lines if line.strip())}


def test_every_migration_file_is_listed_with_its_checksum() -> None:
    """A new migration lands by adding its line to landed.sha256 (``sha256sum 00NN_*.py``)."""
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
             for p in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.py")}
    assert files == _listed("landed.sha256"), (
        "a landed migration was edited (write a new one instead), or a new one is not listed"
    )


def test_landed_migrations_run_the_same_sql() -> None:
    """The SQL Tortoise generates from each migration is what it was when it landed."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.migrations.sql_digest"], cwd=ROOT, capture_output=True,
        text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    produced = {name: digest for digest, name in (line.split() for line in result.stdout.splitlines())}
    assert produced == _listed("sql.sha256")
