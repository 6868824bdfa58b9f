"""Indexes behind cross-relation customer filters and dashboard aggregates.

Order facts (totals, largest order, count, latest order per status and period) are answered by
index-only scans of one customer's orders; "no inbound interaction in N days" seeks straight to
the newest interaction of a direction.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = [
    "CREATE INDEX customer_order_facts_idx"
    " ON customer_order (customer_id, status, placed_at) INCLUDE (amount, currency)",
    "CREATE INDEX interaction_direction_idx"
    " ON interaction (customer_id, direction, occurred_at DESC) INCLUDE (channel)",
    "CREATE INDEX customer_country_idx ON customer (organization_id, country)"
    " WHERE deleted_at IS NULL",
]

BACKWARD = [
    "DROP INDEX IF EXISTS customer_country_idx",
    "DROP INDEX IF EXISTS interaction_direction_idx",
    "DROP INDEX IF EXISTS customer_order_facts_idx",
]


class Migration(migrations.Migration):
    dependencies = [("crm", "0007_refresh_tokens")]

    operations = [ops.RunSQL(FORWARD, reverse_sql=BACKWARD)]
