"""The assembled schema: its public SDL changes only on purpose."""

from __future__ import annotations

from pathlib import Path

from app.graphql import build_schema
from core.config import Settings

SNAPSHOT = Path(__file__).with_name("schema.graphql")


def test_sdl_matches_the_snapshot() -> None:
    """Every public name, type and argument is in ``schema.graphql``; update it deliberately.

    To accept a deliberate change: ``python -m app.graphql > tests/app/schema.graphql``.
    """
    sdl = build_schema(Settings(env="development")).as_str() + "\n"
    assert sdl == SNAPSHOT.read_text(encoding="utf-8")
