"""What operators watch that lives in the database: queues, deliveries, training, models."""

from __future__ import annotations

from dataclasses import dataclass, field

from db.sql import fetch

# one round trip; the outbox and due-webhook parts use the partial indexes the workers poll by
_SNAPSHOT_SQL = """
SELECT 'outbox' AS part, NULL AS key, count(*)::float8 AS n,
       coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS x
  FROM email_message WHERE status IN ('QUEUED', 'SENDING')
UNION ALL
SELECT 'webhook_lag', NULL, 0, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
  FROM webhook_delivery WHERE status IN ('PENDING', 'SENDING') AND next_attempt_at <= now()
UNION ALL
SELECT 'email', status, count(*)::float8, 0 FROM email_message GROUP BY status
UNION ALL
SELECT 'webhook', status, count(*)::float8, 0 FROM webhook_delivery GROUP BY status
UNION ALL
SELECT 'training', status, count(*)::float8,
       coalesce(sum(extract(epoch FROM finished_at - started_at)), 0)::float8
  FROM training_run GROUP BY status
UNION ALL
SELECT 'model', kind, count(*)::float8, max(version)::float8
  FROM prediction_model WHERE active GROUP BY kind
"""


@dataclass
class Snapshot:
    """The database's side of the metrics at one moment."""

    outbox_depth: float = 0.0
    outbox_oldest_age_seconds: float = 0.0
    webhook_lag_seconds: float = 0.0
    deliveries: dict[tuple[str, str], float] = field(default_factory=dict)
    training_runs: dict[str, tuple[float, float]] = field(default_factory=dict)  # count, seconds
    active_models: dict[str, tuple[float, float]] = field(default_factory=dict)  # count, newest


async def snapshot() -> Snapshot:
    """Read the queues, deliveries, training runs and active models in one statement."""
    result = Snapshot()
    for row in await fetch(_SNAPSHOT_SQL):
        part, key, n, x = row["part"], row["key"], float(row["n"]), float(row["x"])
        if part == "outbox":
            result.outbox_depth, result.outbox_oldest_age_seconds = n, x
        elif part == "webhook_lag":
            result.webhook_lag_seconds = x
        elif part in ("email", "webhook"):
            result.deliveries[(part, str(key))] = n
        elif part == "training":
            result.training_runs[str(key)] = (n, x)
        else:
            result.active_models[str(key)] = (n, x)
    return result
