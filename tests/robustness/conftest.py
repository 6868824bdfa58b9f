"""Fixtures of the robustness tests."""

from __future__ import annotations

from typing import Any

import pytest_asyncio

from core.config import Settings
from tests.robustness.constraint_calls import make_taken


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def taken(settings: Settings) -> dict[str, Any]:
    """An organization holding the values the unique rules are tested with."""
    return await make_taken(settings)
