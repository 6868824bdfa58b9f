from tortoise import migrations
from tortoise.migrations import operations as ops
from enum import StrEnum
from orjson import loads
from tortoise.contrib.postgres.fields import ArrayField
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

# Enum values as they were when this migration was written: a migration never
# follows later changes of the models' enums.


class Channel(StrEnum):
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    SMS = "SMS"
    MEETING = "MEETING"
    CHAT = "CHAT"
    SOCIAL = "SOCIAL"
    NOTE = "NOTE"


class CustomerKind(StrEnum):
    PERSON = "PERSON"
    COMPANY = "COMPANY"


class Direction(StrEnum):
    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


class LifecycleStage(StrEnum):
    LEAD = "LEAD"
    PROSPECT = "PROSPECT"
    CUSTOMER = "CUSTOMER"
    CHURNED = "CHURNED"


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    REFUNDED = "REFUNDED"
    CANCELLED = "CANCELLED"


class Role(StrEnum):
    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    AGENT = "AGENT"
    VIEWER = "VIEWER"


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Organization',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('slug', fields.CharField(unique=True, max_length=100)),
                ('currency', fields.CharField(default='USD', max_length=3)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'organization', 'app': 'crm', 'pk_attr': 'id', 'table_description': 'A tenant: one company using the CRM.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('crm.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='users', on_delete=OnDelete.RESTRICT)),
                ('email', fields.CharField(max_length=254)),
                ('name', fields.CharField(default='', max_length=200)),
                ('password_hash', fields.CharField(max_length=200)),
                ('role', fields.CharEnumField(default=Role.AGENT, description='ADMIN: ADMIN\nMANAGER: MANAGER\nAGENT: AGENT\nVIEWER: VIEWER', enum_type=Role, max_length=16)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_login_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'app_user', 'app': 'crm', 'pk_attr': 'id', 'table_description': 'A person who signs in; belongs to one organization.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Customer',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('crm.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='customers', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(default=CustomerKind.PERSON, description='PERSON: PERSON\nCOMPANY: COMPANY', enum_type=CustomerKind, max_length=16)),
                ('name', fields.CharField(max_length=200)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('phone', fields.CharField(null=True, max_length=20)),
                ('company', fields.CharField(null=True, max_length=200)),
                ('street', fields.CharField(null=True, max_length=200)),
                ('city', fields.CharField(null=True, max_length=100)),
                ('region', fields.CharField(null=True, max_length=100)),
                ('postal_code', fields.CharField(null=True, max_length=20)),
                ('country', fields.CharField(null=True, max_length=2)),
                ('stage', fields.CharEnumField(default=LifecycleStage.LEAD, description='LEAD: LEAD\nPROSPECT: PROSPECT\nCUSTOMER: CUSTOMER\nCHURNED: CHURNED', enum_type=LifecycleStage, max_length=16)),
                ('tags', ArrayField(default=list, element_type='TEXT')),
                ('custom_fields', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('owner', fields.ForeignKeyField('crm.User', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name='owned_customers', on_delete=OnDelete.SET_NULL)),
                ('external_ref', fields.CharField(null=True, max_length=100)),
                ('email_opt_out', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'customer', 'app': 'crm', 'pk_attr': 'id', 'table_description': 'A person or company the organization sells to.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Interaction',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('crm.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='interactions', on_delete=OnDelete.RESTRICT)),
                ('customer', fields.ForeignKeyField('crm.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='interactions', on_delete=OnDelete.RESTRICT)),
                ('channel', fields.CharEnumField(description='EMAIL: EMAIL\nPHONE: PHONE\nSMS: SMS\nMEETING: MEETING\nCHAT: CHAT\nSOCIAL: SOCIAL\nNOTE: NOTE', enum_type=Channel, max_length=16)),
                ('direction', fields.CharEnumField(description='INBOUND: INBOUND\nOUTBOUND: OUTBOUND', enum_type=Direction, max_length=16)),
                ('subject', fields.CharField(null=True, max_length=500)),
                ('body', fields.TextField(default='', unique=False)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_by', fields.ForeignKeyField('crm.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='interactions', on_delete=OnDelete.SET_NULL)),
                ('metadata', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'interaction', 'app': 'crm', 'pk_attr': 'id', 'table_description': 'One contact with a customer on any channel, inbound or outbound.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Order',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('crm.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('customer', fields.ForeignKeyField('crm.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('external_ref', fields.CharField(null=True, max_length=100)),
                ('amount', fields.DecimalField(max_digits=18, decimal_places=4)),
                ('currency', fields.CharField(max_length=3)),
                ('status', fields.CharEnumField(default=OrderStatus.PENDING, description='PENDING: PENDING\nPAID: PAID\nREFUNDED: REFUNDED\nCANCELLED: CANCELLED', enum_type=OrderStatus, max_length=16)),
                ('placed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('line_items', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'customer_order', 'app': 'crm', 'pk_attr': 'id', 'table_description': 'A transaction record of a customer (an order or purchase).'},
            bases=['Model'],
        ),
    ]
