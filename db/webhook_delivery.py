"""Webhook deliveries as workers see them: leased claims, outcomes, the circuit breaker.

A claim takes due deliveries with ``FOR UPDATE SKIP LOCKED`` (concurrent workers never take the
same row), marks them SENDING with a lease and counts the attempt, in one short transaction;
the HTTP request happens after it commits. A delivery whose lease runs out (its worker died)
is due again. Webhooks whose circuit is open are skipped; once the cool-down has passed one
delivery is claimed as a probe and the circuit stays shut to others until it reports back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from db.pagination import Sort, Source
from db.sql import Params, fetch

DUE_SQL = "d.status IN ('PENDING', 'SENDING') AND d.next_attempt_at <= now()"
_CLAIM_SET = (
    "status = 'SENDING', attempt = d.attempt + 1, locked_by = $2, updated_at = now(),"
    " next_attempt_at = now() + $3::float8 * interval '1 second'"
)
_CLAIM_RETURNING = (
    " RETURNING d.id, d.attempt, d.webhook_id, w.url, w.secret, w.previous_secret,"
    " w.previous_secret_expires_at, e.id AS event_id, e.organization_id, e.sequence, e.type,"
    " e.object_type, e.object_id, e.data, e.actor, e.request_id, e.occurred_at"
)
COLUMNS = (
    "t.id, t.webhook_id, t.status, t.attempt, t.http_status, t.duration_ms, t.error,"
    " t.next_attempt_at, t.delivered_at, t.created_at, t.event_id, t.event_sequence,"
    " t.event_type, t.event_occurred_at"
)
SORT = Sort("ID_DESC", "t.id", "number", descending=True)
_WITH_EVENT = (
    "(SELECT d.*, e.sequence AS event_sequence, e.type AS event_type,"
    " e.occurred_at AS event_occurred_at FROM webhook_delivery d"
    " JOIN webhook_event e ON e.id = d.event_id)"
)


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds a lease on, with what to send and where."""

    id: int
    attempt: int
    webhook_id: int
    url: str
    secrets: tuple[str, ...]
    event: dict[str, Any]


@dataclass(frozen=True)
class Breaker:
    """When the circuit opens and how long it stays open; when a webhook is disabled."""

    failures: int
    cooldown_seconds: float
    max_cooldown_seconds: float
    disable_after_failures: int
    disable_after_seconds: float


async def claim(
    *, limit: int, lease_seconds: float, worker: str, org_ids: Sequence[int] | None = None
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries: half-open probes first, then closed circuits.

    ``org_ids`` restricts the claim to those organizations' webhooks.
    """
    orgs = list(org_ids) if org_ids is not None else None
    async with in_transaction() as conn:
        probes = await fetch(
            "SELECT id FROM webhook WHERE enabled AND circuit_open_until <= now()"
            " AND ($2::bigint[] IS NULL OR organization_id = ANY($2::bigint[]))"
            " ORDER BY circuit_open_until LIMIT $1 FOR UPDATE SKIP LOCKED", [limit, orgs], conn,
        )
        rows: list[dict[str, Any]] = []
        if probes:
            rows = await fetch(
                f"UPDATE webhook_delivery d SET {_CLAIM_SET}"
                " FROM unnest($1::bigint[]) AS p(webhook_id) CROSS JOIN LATERAL ("
                "  SELECT d.id FROM webhook_delivery d"
                f"  WHERE d.webhook_id = p.webhook_id AND {DUE_SQL}"
                "  ORDER BY d.next_attempt_at, d.id LIMIT 1 FOR UPDATE SKIP LOCKED) due,"
                " webhook w, webhook_event e"
                " WHERE d.id = due.id AND w.id = d.webhook_id AND e.id = d.event_id"
                + _CLAIM_RETURNING,
                [[p["id"] for p in probes], worker, lease_seconds], conn,
            )
            if rows:  # shut to others until the probe reports back (or its lease runs out)
                await fetch(
                    "UPDATE webhook SET circuit_open_until = now()"
                    " + $2::float8 * interval '1 second' WHERE id = ANY($1::bigint[])",
                    [[r["webhook_id"] for r in rows], lease_seconds], conn,
                )
        if limit > len(rows):
            rows += await fetch(
                f"UPDATE webhook_delivery d SET {_CLAIM_SET}"
                " FROM (SELECT d.id FROM webhook_delivery d JOIN webhook w ON w.id = d.webhook_id"
                f"   WHERE {DUE_SQL} AND w.enabled AND w.circuit_open_until IS NULL"
                "   AND ($4::bigint[] IS NULL OR d.organization_id = ANY($4::bigint[]))"
                "   ORDER BY d.next_attempt_at, d.id LIMIT $1 FOR UPDATE OF d SKIP LOCKED) due,"
                " webhook w, webhook_event e"
                " WHERE d.id = due.id AND w.id = d.webhook_id AND e.id = d.event_id"
                + _CLAIM_RETURNING,
                [limit - len(rows), worker, lease_seconds, orgs], conn,
            )
    return [_claimed(row) for row in sorted(rows, key=lambda r: r["id"])]


def _claimed(row: dict[str, Any]) -> Claimed:
    secrets = [row["secret"]]
    expires = row["previous_secret_expires_at"]
    if row["previous_secret"] and expires is not None and expires > datetime.now(expires.tzinfo):
        secrets.append(row["previous_secret"])
    event = {key: row[key] for key in (
        "event_id", "organization_id", "sequence", "type", "object_type", "object_id", "data",
        "actor", "request_id", "occurred_at")}
    return Claimed(row["id"], row["attempt"], row["webhook_id"], row["url"], tuple(secrets), event)


_MINE = "WHERE id = $1 AND locked_by = $2 AND attempt = $3 AND status = 'SENDING'"


async def delivered(item: Claimed, *, worker: str, http_status: int, duration_ms: int) -> bool:
    """Record a 2xx and close the webhook's circuit; False if the lease was lost meanwhile."""
    rows = await fetch(
        "WITH d AS (UPDATE webhook_delivery SET status = 'DELIVERED', http_status = $4,"
        " duration_ms = $5, error = NULL, delivered_at = now(), locked_by = NULL,"
        f" updated_at = now() {_MINE} RETURNING webhook_id)"
        # a healthy webhook's row is written at most once a second, not on every success:
        # concurrent deliveries would otherwise queue on its lock
        " , healed AS (UPDATE webhook w SET consecutive_failures = 0, failing_since = NULL,"
        " circuit_open_until = NULL, circuit_trips = 0, last_success_at = now()"
        " FROM d WHERE w.id = d.webhook_id AND (w.consecutive_failures > 0"
        "  OR w.circuit_open_until IS NOT NULL OR w.last_success_at IS NULL"
        "  OR w.last_success_at < now() - interval '1 second'))"
        " SELECT count(*) AS n FROM d",
        [item.id, worker, item.attempt, http_status, duration_ms],
    )
    return bool(rows[0]["n"])


async def failed(
    item: Claimed, *, worker: str, http_status: int | None, duration_ms: int | None, error: str,
    retry_in: float | None, breaker: Breaker,
) -> bool:
    """Record a failed attempt: due again in ``retry_in`` seconds, or FAILED when None.

    Counts towards the webhook's failure streak: opens its circuit after ``breaker.failures``
    in a row (longer each time) and disables it after a long enough streak.
    """
    rows = await fetch(
        "WITH d AS (UPDATE webhook_delivery SET"
        " status = CASE WHEN $7::float8 IS NULL THEN 'FAILED' ELSE 'PENDING' END,"
        " next_attempt_at = now() + coalesce($7::float8, 0) * interval '1 second',"
        " http_status = $4, duration_ms = $5, error = $6, locked_by = NULL, updated_at = now()"
        f" {_MINE} RETURNING webhook_id),"
        " streak AS (SELECT w.id, w.consecutive_failures + 1 AS failures,"
        "  coalesce(w.failing_since, now()) AS since, w.circuit_trips"
        "  FROM webhook w JOIN d ON d.webhook_id = w.id FOR UPDATE OF w)"
        " UPDATE webhook w SET consecutive_failures = s.failures, failing_since = s.since,"
        " circuit_trips = s.circuit_trips + (s.failures >= $8)::int,"
        " circuit_open_until = CASE WHEN s.failures >= $8 THEN now() + LEAST($10::float8,"
        "   $9::float8 * 2 ^ LEAST(s.circuit_trips, 30)) * interval '1 second'"
        "   ELSE w.circuit_open_until END,"
        " enabled = w.enabled AND NOT (s.failures >= $11"
        "   AND s.since <= now() - $12::float8 * interval '1 second'),"
        " disabled_reason = CASE WHEN w.enabled AND s.failures >= $11"
        "   AND s.since <= now() - $12::float8 * interval '1 second'"
        "   THEN format('disabled automatically after %s consecutive failed deliveries since %s',"
        "   s.failures, to_char(s.since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))"
        "   ELSE w.disabled_reason END"
        " FROM streak s WHERE w.id = s.id RETURNING w.id",
        [item.id, worker, item.attempt, http_status, duration_ms, error[:1000], retry_in,
         breaker.failures, breaker.cooldown_seconds, breaker.max_cooldown_seconds,
         breaker.disable_after_failures, breaker.disable_after_seconds],
    )
    return bool(rows)


def source(org_id: int, status: str | None) -> Source:
    """The organization's deliveries (of one status if given), pageable per webhook."""
    params = Params()
    where = f"t.organization_id = {params.add(org_id)}"
    if status is not None:
        where += f" AND t.status = {params.add(status)}"
    return Source(_WITH_EVENT, COLUMNS, where, params)
