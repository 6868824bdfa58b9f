"""Tortoise models. Every row belongs to an organization; indexes live in the migrations."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.contrib.postgres.fields import ArrayField
from tortoise.models import Model

from db.enums import Channel, CustomerKind, Direction, LifecycleStage, OrderStatus, Role


class Organization(Model):
    """A tenant: one company using the CRM."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=100, unique=True)
    currency = fields.CharField(max_length=3, default="USD")
    created_at = fields.DatetimeField(auto_now_add=True)
    # roles below ADMIN whose users read personal data unmasked; null: the default roles
    pii_roles = ArrayField("text", null=True)
    # keys of customers' custom fields that hold personal data (masked like contact data)
    personal_custom_fields = ArrayField("text", null=True)
    # an order naming an unknown SKU: refused (False) or creates an inactive product (True)
    create_unknown_products = fields.BooleanField(default=False, db_default=False)
    # IANA time zone and BCP 47 locale: due dates and digests follow the organization's day
    time_zone = fields.CharField(max_length=64, default="UTC", db_default="UTC")
    locale = fields.CharField(max_length=35, default="en-US", db_default="en-US")

    class Meta:
        table = "organization"


class User(Model):
    """A person who signs in; belongs to one organization."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="users", on_delete=fields.RESTRICT
    )
    email = fields.CharField(max_length=254)
    name = fields.CharField(max_length=200, default="")
    password_hash = fields.CharField(max_length=200)
    role = fields.CharEnumField(Role, max_length=16, default=Role.AGENT)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)
    # the daily email of due and overdue tasks (opt-out per user)
    task_digest = fields.BooleanField(default=True, db_default=True)
    # the organization-local day the last digest was handled for (sent, or nothing was due)
    last_digest_on = fields.DateField(null=True)
    # access tokens carry the epoch they were issued in; deactivation starts a new one, so
    # tokens from before it stay dead after a reactivation
    token_epoch = fields.IntField(default=0, db_default=0)

    organization_id: int

    class Meta:
        table = "app_user"


class Customer(Model):
    """A person or company the organization sells to."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="customers", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(CustomerKind, max_length=16, default=CustomerKind.PERSON)
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254, null=True)
    phone = fields.CharField(max_length=20, null=True)
    company = fields.CharField(max_length=200, null=True)
    street = fields.CharField(max_length=200, null=True)
    city = fields.CharField(max_length=100, null=True)
    region = fields.CharField(max_length=100, null=True)
    postal_code = fields.CharField(max_length=20, null=True)
    country = fields.CharField(max_length=2, null=True)
    stage = fields.CharEnumField(LifecycleStage, max_length=16, default=LifecycleStage.LEAD)
    tags = ArrayField("text", default=list)
    custom_fields: Any = fields.JSONField(default=dict)
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name="owned_customers", null=True, on_delete=fields.SET_NULL
    )
    external_ref = fields.CharField(max_length=100, null=True)
    email_opt_out = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    deleted_at = fields.DatetimeField(null=True)
    # set when a merge absorbed this customer into another (which then holds its history)
    merged_into: fields.ForeignKeyNullableRelation[Customer] = fields.ForeignKeyField(
        "crm.Customer", related_name=False, null=True, on_delete=fields.SET_NULL
    )

    organization_id: int
    owner_id: int | None
    merged_into_id: int | None

    class Meta:
        table = "customer"


class Order(Model):
    """A transaction record of a customer (an order or purchase)."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="orders", on_delete=fields.RESTRICT
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "crm.Customer", related_name="orders", on_delete=fields.RESTRICT
    )
    external_ref = fields.CharField(max_length=100, null=True)
    amount = fields.DecimalField(max_digits=18, decimal_places=4)
    currency = fields.CharField(max_length=3)
    status = fields.CharEnumField(OrderStatus, max_length=16, default=OrderStatus.PENDING)
    placed_at = fields.DatetimeField()
    line_items: Any = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int
    customer_id: int

    class Meta:
        table = "customer_order"


class Interaction(Model):
    """One contact with a customer on any channel, inbound or outbound."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="interactions", on_delete=fields.RESTRICT
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "crm.Customer", related_name="interactions", on_delete=fields.RESTRICT
    )
    channel = fields.CharEnumField(Channel, max_length=16)
    direction = fields.CharEnumField(Direction, max_length=16)
    subject = fields.CharField(max_length=500, null=True)
    body = fields.TextField(default="")
    occurred_at = fields.DatetimeField()
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name="interactions", null=True, on_delete=fields.SET_NULL
    )
    metadata: Any = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    # a note (or any interaction) may be about a deal or a company too
    deal: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "crm.Deal", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    company: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "crm.Company", related_name=False, null=True, on_delete=fields.SET_NULL
    )

    organization_id: int
    customer_id: int
    created_by_id: int | None
    deal_id: int | None
    company_id: int | None

    class Meta:
        table = "interaction"
