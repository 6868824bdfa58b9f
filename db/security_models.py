"""Tortoise models of partner access and the audit log.

Indexes and the trigger that keeps audit rows unchangeable live in ``migrations/0006_security.py``.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.contrib.postgres.fields import ArrayField
from tortoise.models import Model

from db.models import Organization, User


class ApiKey(Model):
    """A partner's key to one organization: only a hash of the secret is kept."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="api_keys", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=200)
    # the first characters of the key, shown in lists so people can tell keys apart
    prefix = fields.CharField(max_length=20)
    secret_hash = fields.CharField(max_length=64, unique=True)
    scopes = ArrayField("text", default=list)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name="api_keys", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    # when this key's use of pii:read was last written to the audit log (once per period)
    pii_audited_at = fields.DatetimeField(null=True)

    organization_id: int
    created_by_id: int | None

    class Meta:
        table = "api_key"


class AuditEvent(Model):
    """One committed mutation: who, what, on which object, which fields; never personal values."""

    id = fields.BigIntField(primary_key=True)
    # plain ids, no foreign keys: audit rows never change, not even when a user goes away
    organization_id = fields.BigIntField(null=True)
    actor_user_id = fields.BigIntField(null=True)
    actor_api_key_id = fields.BigIntField(null=True)
    action = fields.CharField(max_length=100)
    target_type = fields.CharField(max_length=50, null=True)
    target_id = fields.BigIntField(null=True)
    changed_fields = ArrayField("text", default=list)
    request_id = fields.CharField(max_length=64, null=True)
    ip = fields.CharField(max_length=45, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # how many records a bulk access touched (exports, imports, merges); null: one or n/a
    item_count = fields.IntField(null=True)

    class Meta:
        table = "audit_event"


class CustomerErasure(Model):
    """A customer whose personal data was erased: never restored, scored or emailed again."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="customer_erasures", on_delete=fields.RESTRICT
    )
    customer_id = fields.BigIntField(unique=True)
    erased_at = fields.DatetimeField(auto_now_add=True)

    organization_id: int

    class Meta:
        table = "customer_erasure"
