"""Webhooks of an organization: create, read, change, delete, rotate secrets, replay events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from db.pagination import Sort, Source
from db.sql import Params, fetch, fetch_one

COLUMNS = (
    "t.id, t.organization_id, t.url, t.description, t.event_types, t.secret,"
    " t.previous_secret, t.previous_secret_expires_at, t.enabled, t.disabled_reason,"
    " t.consecutive_failures, t.failing_since, t.circuit_open_until, t.circuit_trips,"
    " t.last_success_at, t.created_by_id, t.created_at, t.updated_at"
)
SORT = Sort("CREATED_AT_DESC", "t.created_at", "datetime", descending=True)
# changing these may be asked for; the breaker's state is the delivery service's
EDITABLE = ("url", "description", "event_types", "enabled")


async def create(
    *, org_id: int, user_id: int | None, url: str, event_types: Sequence[str], secret: str,
    description: str,
) -> dict[str, Any]:
    """A new enabled webhook."""
    row = await fetch_one(
        "INSERT INTO webhook AS t (organization_id, url, description, event_types, secret,"
        " enabled, consecutive_failures, circuit_trips, created_by_id, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, true, 0, 0, $6, now(), now())"
        f" RETURNING {COLUMNS}",
        [org_id, url, description, list(event_types), secret, user_id],
    )
    assert row is not None
    return row


async def get(*, org_id: int, webhook_id: int) -> dict[str, Any] | None:
    """The webhook if it belongs to the organization."""
    return await fetch_one(
        f"SELECT {COLUMNS} FROM webhook t WHERE t.id = $1 AND t.organization_id = $2",
        [webhook_id, org_id],
    )


async def update(*, org_id: int, webhook_id: int, changes: dict[str, Any]) -> dict[str, Any] | None:
    """Apply ``changes`` (keys from EDITABLE); enabling again closes the circuit breaker."""
    params = Params()
    sets = [f"{name} = {params.add(changes[name])}" for name in EDITABLE if name in changes]
    if changes.get("enabled") is True:
        # re-enabled by a person: start over, as if the endpoint had never failed
        sets.append(
            "disabled_reason = NULL, consecutive_failures = 0, failing_since = NULL,"
            " circuit_open_until = NULL, circuit_trips = 0"
        )
    elif changes.get("enabled") is False:
        sets.append("disabled_reason = 'disabled by an administrator'")
    sets.append("updated_at = now()")
    return await fetch_one(
        f"UPDATE webhook t SET {', '.join(sets)}"
        f" WHERE t.id = {params.add(webhook_id)} AND t.organization_id = {params.add(org_id)}"
        f" RETURNING {COLUMNS}",
        params.values,
    )


async def delete(*, org_id: int, webhook_id: int) -> bool:
    """Delete the webhook and its deliveries; False if there was none."""
    rows = await fetch(
        "DELETE FROM webhook WHERE id = $1 AND organization_id = $2 RETURNING id",
        [webhook_id, org_id],
    )
    return bool(rows)


async def rotate_secret(
    *, org_id: int, webhook_id: int, secret: str, overlap_until: datetime
) -> dict[str, Any] | None:
    """Sign with ``secret`` from now on, and with the old one too until ``overlap_until``."""
    return await fetch_one(
        "UPDATE webhook t SET previous_secret = t.secret, previous_secret_expires_at = $3,"
        " secret = $4, updated_at = now() WHERE t.id = $1 AND t.organization_id = $2"
        f" RETURNING {COLUMNS}",
        [webhook_id, org_id, overlap_until, secret],
    )


async def replay(
    *, org_id: int, webhook_id: int, from_sequence: int, to_sequence: int | None
) -> int | None:
    """Queue the logged events in the range of the webhook's types again; None: no webhook.

    Events already waiting for this webhook are not queued twice.
    """
    rows = await fetch(
        "WITH w AS (SELECT id, organization_id, event_types FROM webhook"
        "   WHERE id = $1 AND organization_id = $2),"
        " queued AS ("
        "  INSERT INTO webhook_delivery (organization_id, webhook_id, event_id, status, attempt,"
        "   next_attempt_at, created_at, updated_at)"
        "  SELECT w.organization_id, w.id, e.id, 'PENDING', 0, now(), now(), now()"
        "  FROM w JOIN webhook_event e ON e.organization_id = w.organization_id"
        "   AND e.sequence >= $3 AND ($4::bigint IS NULL OR e.sequence <= $4)"
        "   AND e.type = ANY(w.event_types)"
        "  WHERE NOT EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.webhook_id = w.id"
        "   AND d.event_id = e.id AND d.status IN ('PENDING', 'SENDING'))"
        "  ORDER BY e.sequence RETURNING 1)"
        " SELECT (SELECT count(*) FROM w) AS found, (SELECT count(*) FROM queued) AS n",
        [webhook_id, org_id, from_sequence, to_sequence],
    )
    if not rows[0]["found"]:
        return None
    if rows[0]["n"]:
        await fetch("SELECT pg_notify('crm_webhooks', '')")
    return int(rows[0]["n"])


def source(org_id: int) -> Source:
    """The organization's webhooks, as a pageable source."""
    params = Params()
    return Source("webhook", COLUMNS, f"t.organization_id = {params.add(org_id)}", params)
