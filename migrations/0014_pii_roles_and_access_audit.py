"""Who reads personal data, and the audit of bulk access to it.

Organizations list the roles below ADMIN that read personal data and the custom-field keys
that hold it (null: the defaults); audit events count the records a bulk access touched; API
keys remember when their use of ``pii:read`` was last audited (once per period).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.contrib.postgres.fields import ArrayField


class Migration(migrations.Migration):
    dependencies = [('crm', '0011_customer_duplicates')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Organization',
            name='pii_roles',
            field=ArrayField(element_type='TEXT', null=True),
        ),
        ops.AddField(
            model_name='Organization',
            name='personal_custom_fields',
            field=ArrayField(element_type='TEXT', null=True),
        ),
        ops.AddField(
            model_name='ApiKey',
            name='pii_audited_at',
            field=fields.DatetimeField(null=True),
        ),
        ops.AddField(
            model_name='AuditEvent',
            name='item_count',
            field=fields.IntField(null=True),
        ),
    ]
