"""Saved views: a user's named customer-list filters (the console's "Saved views").

Written by hand, like 0019's tables: no ORM model reads them (db/saved_view.py is plain SQL).
A view belongs to one user in one organization; saving under a name the user already has
replaces that view, so (user, organization, name) is unique.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = [
    """
    CREATE TABLE saved_view (
        id bigserial PRIMARY KEY,
        organization_id bigint NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
        user_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
        name text NOT NULL,
        filter jsonb NOT NULL,
        order_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE UNIQUE INDEX saved_view_name_uniq ON saved_view (organization_id, user_id, name)",
]

BACKWARD = ["DROP TABLE IF EXISTS saved_view"]


class Migration(migrations.Migration):
    dependencies = [('crm', '0020_channels')]

    initial = False

    operations = [
        ops.RunSQL(FORWARD, reverse_sql=BACKWARD),
    ]
