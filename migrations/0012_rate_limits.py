"""Shared rate limit budgets: the points each principal has reserved in its current window.

UNLOGGED: a charge is one write on every cache miss of every server process, and a budget is
worth nothing after a crash (losing it only hands callers a fresh window), so the table skips
the write-ahead log. One row per principal ("user:<id>", "key:<hash>", "ip:<address>"); a
window starts at a principal's first reservation and lasts the configured seconds.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = [
    """
    CREATE UNLOGGED TABLE rate_limit (
        principal text PRIMARY KEY,
        used bigint NOT NULL CHECK (used >= 0),
        window_ends_at timestamptz NOT NULL
    )
    """,
    # finished windows are swept by age
    "CREATE INDEX rate_limit_window_ends_at_idx ON rate_limit (window_ends_at)",
]

BACKWARD = [
    "DROP TABLE IF EXISTS rate_limit",
]


class Migration(migrations.Migration):
    dependencies = [("crm", "0019_recommendations")]

    operations = [ops.RunSQL(FORWARD, reverse_sql=BACKWARD)]
