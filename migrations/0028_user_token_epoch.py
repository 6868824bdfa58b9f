"""Users' token epoch: access tokens name the epoch they were issued in, and deactivating a user
starts a new one, so a reactivated user's tokens from before the deactivation stay refused.

AddField as makemigrations writes it (with a database default: existing users start at 0, the
epoch tokens without one count as).
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("crm", "0027_deal_custom_fields")]

    initial = False

    operations = [
        ops.AddField(
            model_name="User",
            name="token_epoch",
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
