"""Messaging providers of an organization: stored settings and encrypted credentials.

Rows returned to the API never carry the credentials (``COLUMNS``); only the worker and the
inbound endpoints read them (``get_with_credentials``, ``by_inbound_key``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from tortoise.exceptions import IntegrityError

from core.errors import ErrorCode, FieldError, InputError
from db.enums import Channel
from db.sql import fetch, fetch_one, violated_constraint

COLUMNS = (
    "id, organization_id, name, kind, channels, base_url, account_id, sender, inbound_key,"
    " rate_per_second, rate_burst, quiet_hours_start, quiet_hours_end, time_zone,"
    " create_leads, created_at, updated_at"
)
WRITABLE = (
    "name", "kind", "channels", "base_url", "account_id", "sender", "credentials",
    "rate_per_second", "rate_burst", "quiet_hours_start", "quiet_hours_end", "time_zone",
    "create_leads",
)


def _duplicate(exc: IntegrityError) -> InputError:
    if violated_constraint(exc) == "message_provider_name_uniq":
        return InputError([FieldError(ErrorCode.DUPLICATE, ("input", "name"),
                                      "another provider has this name")])
    raise exc


async def create(*, org_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Store a provider (``data`` validated, credentials already sealed)."""
    names = [name for name in WRITABLE if name in data]
    values = [data[name] for name in names]
    placeholders = ", ".join(f"${i + 3}" for i in range(len(names)))
    try:
        row = await fetch_one(
            f"INSERT INTO message_provider (organization_id, inbound_key, {', '.join(names)},"
            f" created_at, updated_at) VALUES ($1, $2, {placeholders}, now(), now())"
            f" RETURNING {COLUMNS}",
            [org_id, secrets.token_urlsafe(24), *values],
        )
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    assert row is not None
    return row


async def update(*, org_id: int, provider_id: int, data: dict[str, Any]) -> dict[str, Any] | None:
    """Change a provider's settings; None if the organization has no such provider."""
    names = [name for name in WRITABLE if name in data]
    if not names:
        return await get(org_id=org_id, provider_id=provider_id)
    sets = ", ".join(f"{name} = ${i + 3}" for i, name in enumerate(names))
    try:
        return await fetch_one(
            f"UPDATE message_provider SET {sets}, updated_at = now()"
            f" WHERE organization_id = $1 AND id = $2 RETURNING {COLUMNS}",
            [org_id, provider_id, *[data[name] for name in names]],
        )
    except IntegrityError as exc:
        raise _duplicate(exc) from None


async def get(*, org_id: int, provider_id: int) -> dict[str, Any] | None:
    """One provider of the organization (without credentials)."""
    return await fetch_one(
        f"SELECT {COLUMNS} FROM message_provider WHERE organization_id = $1 AND id = $2",
        [org_id, provider_id],
    )


async def list_(*, org_id: int) -> list[dict[str, Any]]:
    """The organization's providers, oldest first (without credentials)."""
    return await fetch(
        f"SELECT {COLUMNS} FROM message_provider WHERE organization_id = $1 ORDER BY id",
        [org_id],
    )


async def for_channel(*, org_id: int, channel: Channel) -> dict[str, Any] | None:
    """The provider that sends on ``channel`` (the oldest, when several do)."""
    return await fetch_one(
        f"SELECT {COLUMNS} FROM message_provider WHERE organization_id = $1"
        " AND $2 = ANY(channels) ORDER BY id LIMIT 1",
        [org_id, channel.value],
    )


async def get_with_credentials(provider_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Providers by id with their sealed credentials (for the worker)."""
    rows = await fetch(
        f"SELECT {COLUMNS}, credentials FROM message_provider WHERE id = ANY($1::bigint[])",
        [list(provider_ids)],
    )
    return {row["id"]: row for row in rows}


async def by_inbound_key(key: str) -> dict[str, Any] | None:
    """The provider whose inbound URLs carry ``key``, with its sealed credentials."""
    return await fetch_one(
        f"SELECT {COLUMNS}, credentials FROM message_provider WHERE inbound_key = $1", [key]
    )

