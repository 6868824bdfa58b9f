"""Tortoise models of outbound webhooks: endpoints, the event log and deliveries.

Triggers, the per-organization sequence counter and the partial indexes live in
``migrations/0010_webhooks.py``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.contrib.postgres.fields import ArrayField
from tortoise.models import Model

from db.models import Organization, User


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class Webhook(Model):
    """A partner's endpoint that receives signed events of the types it subscribed to."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="webhooks", on_delete=fields.RESTRICT
    )
    url = fields.CharField(max_length=2000)
    description = fields.CharField(max_length=500, default="")
    event_types = ArrayField("text", default=list)
    secret = fields.CharField(max_length=200)
    # still signed with during a rotation, until it expires
    previous_secret = fields.CharField(max_length=200, null=True)
    previous_secret_expires_at = fields.DatetimeField(null=True)
    enabled = fields.BooleanField(default=True)
    disabled_reason = fields.TextField(null=True)
    consecutive_failures = fields.IntField(default=0)
    failing_since = fields.DatetimeField(null=True)
    circuit_open_until = fields.DatetimeField(null=True)
    circuit_trips = fields.IntField(default=0)
    last_success_at = fields.DatetimeField(null=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name="webhooks", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int
    created_by_id: int | None

    class Meta:
        table = "webhook"


class WebhookEvent(Model):
    """One change, logged by a trigger in the writing transaction (see the migration)."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="webhook_events", on_delete=fields.RESTRICT
    )
    # null until its transaction commits (numbered then, in commit order)
    sequence = fields.BigIntField(null=True)
    type = fields.CharField(max_length=40)
    object_type = fields.CharField(max_length=40)
    object_id = fields.CharField(max_length=100)
    # the customer the event is about, so erasing a customer can scrub its events
    customer_id = fields.BigIntField(null=True)
    data: Any = fields.JSONField(default=dict)
    actor = fields.CharField(max_length=100, default="system")
    request_id = fields.CharField(max_length=100, null=True)
    xid = fields.BigIntField()
    occurred_at = fields.DatetimeField()

    organization_id: int

    class Meta:
        table = "webhook_event"
        unique_together = (("organization", "sequence"),)


class WebhookDelivery(Model):
    """One event to send to one webhook, its attempts and outcome; a worker's lease."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="webhook_deliveries", on_delete=fields.RESTRICT
    )
    webhook: fields.ForeignKeyRelation[Webhook] = fields.ForeignKeyField(
        "crm.Webhook", related_name="deliveries", on_delete=fields.CASCADE
    )
    event: fields.ForeignKeyRelation[WebhookEvent] = fields.ForeignKeyField(
        "crm.WebhookEvent", related_name="deliveries", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempt = fields.IntField(default=0)
    http_status = fields.IntField(null=True)
    duration_ms = fields.IntField(null=True)
    error = fields.TextField(null=True)
    # PENDING: when it may be tried next; SENDING: when the claiming worker's lease ends
    next_attempt_at = fields.DatetimeField()
    locked_by = fields.CharField(max_length=100, null=True)
    delivered_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int
    webhook_id: int
    event_id: int

    class Meta:
        table = "webhook_delivery"
