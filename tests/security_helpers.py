"""Helpers for security tests: API keys made straight in the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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
