"""Helpers for security tests: API keys made straight in the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from auth import api_keys
from db import api_key as keys


async def make_key(
    org_id: int, scopes: Sequence[str], expires_at: datetime | None = None
) -> str:
    """A new API key of the organization with ``scopes``; returns its secret."""
    new = api_keys.generate()
    await keys.create(org_id=org_id, user_id=None, name="test key", prefix=new.prefix,
                      secret_hash=new.secret_hash, scopes=list(scopes), expires_at=expires_at)
    return new.secret


async def audit_events(org_id: int, action: str) -> list[dict[str, Any]]:
    """The organization's audit events of ``action``, oldest first."""
    from db.sql import fetch

    return await fetch(
        "SELECT * FROM audit_event WHERE organization_id = $1 AND action = $2 ORDER BY id",
        [org_id, action],
    )
