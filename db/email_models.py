"""Tortoise models of customer email: templates, the outbox, campaigns, opt-outs and inbound mail.

Partial and expression indexes, checks and the per-organization send buckets live in
``migrations/0003_email.py``.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from db.email_enums import CampaignStatus, EmailKind, EmailStatus, SuppressionReason
from db.models import Customer, Interaction, Organization, User


class EmailTemplate(Model):
    """A reusable message of an organization, rendered with Jinja2 for each customer."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="email_templates", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=200)
    subject = fields.CharField(max_length=1000)
    text = fields.TextField(null=True)
    html = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int

    class Meta:
        table = "email_template"


class Campaign(Model):
    """One template sent to every consenting customer matching a filter, queued in batches."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="campaigns", on_delete=fields.RESTRICT
    )
    template: fields.ForeignKeyRelation[EmailTemplate] = fields.ForeignKeyField(
        "crm.EmailTemplate", related_name="campaigns", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=200)
    status = fields.CharEnumField(CampaignStatus, max_length=16, default=CampaignStatus.QUEUEING)
    customer_filter: Any = fields.JSONField(default=dict)
    variables: Any = fields.JSONField(default=dict)
    # customers created after the campaign started are not part of it
    max_customer_id = fields.BigIntField(default=0)
    cursor = fields.BigIntField(default=0)
    total = fields.IntField(default=0)
    queued = fields.IntField(default=0)
    skipped = fields.IntField(default=0)
    idempotency_key = fields.CharField(max_length=200, null=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name="campaigns", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    queued_at = fields.DatetimeField(null=True)

    organization_id: int
    template_id: int

    class Meta:
        table = "email_campaign"


class EmailMessage(Model):
    """The outbox: one rendered MIME message and its delivery, for a customer (with its outbound
    email interaction) or, by ``kind``, for a user (invitations, password resets, digests)."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="email_messages", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(
        EmailKind, max_length=16, default=EmailKind.CUSTOMER, db_default=EmailKind.CUSTOMER.value
    )
    interaction: fields.OneToOneNullableRelation[Interaction] = fields.OneToOneField(
        "crm.Interaction", related_name="email_message", null=True, on_delete=fields.RESTRICT
    )
    customer: fields.ForeignKeyNullableRelation[Customer] = fields.ForeignKeyField(
        "crm.Customer", related_name="email_messages", null=True, on_delete=fields.RESTRICT
    )
    # the user a staff email is for (null for customer email)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name="email_messages", null=True, on_delete=fields.SET_NULL
    )
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "crm.Campaign", related_name="messages", null=True, on_delete=fields.RESTRICT
    )
    idempotency_key = fields.CharField(max_length=200, null=True)
    message_id = fields.CharField(max_length=300, unique=True)
    sender = fields.CharField(max_length=254)
    recipient = fields.CharField(max_length=254)
    mime = fields.BinaryField()
    status = fields.CharEnumField(EmailStatus, max_length=16, default=EmailStatus.QUEUED)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    # QUEUED: when it may be tried next; SENDING: when the claiming worker's lease ends
    available_at = fields.DatetimeField()
    locked_by = fields.CharField(max_length=100, null=True)
    sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int
    interaction_id: int | None
    customer_id: int | None
    user_id: int | None
    campaign_id: int | None

    class Meta:
        table = "email_message"


class EmailSuppression(Model):
    """An address of an organization that must not be emailed (unsubscribed or bounced)."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="email_suppressions", on_delete=fields.RESTRICT
    )
    customer: fields.ForeignKeyNullableRelation[Customer] = fields.ForeignKeyField(
        "crm.Customer", related_name="email_suppressions", null=True,
        on_delete=fields.SET_NULL,
    )
    email = fields.CharField(max_length=254)
    reason = fields.CharEnumField(SuppressionReason, max_length=16)
    detail = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    organization_id: int
    customer_id: int | None

    class Meta:
        table = "email_suppression"


class InboundEmail(Model):
    """A received message, kept so a gateway's retries record it only once."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="inbound_emails", on_delete=fields.RESTRICT
    )
    interaction: fields.OneToOneRelation[Interaction] = fields.OneToOneField(
        "crm.Interaction", related_name="inbound_email", on_delete=fields.RESTRICT
    )
    message_id = fields.CharField(max_length=300)
    in_reply_to: fields.ForeignKeyNullableRelation[Interaction] = fields.ForeignKeyField(
        "crm.Interaction", related_name="replies", null=True, on_delete=fields.SET_NULL
    )
    sender = fields.CharField(max_length=254)
    received_at = fields.DatetimeField(auto_now_add=True)

    organization_id: int
    interaction_id: int
    in_reply_to_id: int | None

    class Meta:
        table = "email_inbound"
