"""Tortoise models of messaging channels: providers, the message outbox, inbound receipts,
per-channel consent, social handles and what each user has read.

Partial indexes, checks and the per-provider send buckets live in ``migrations/0020_channels.py``.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.contrib.postgres.fields import ArrayField
from tortoise.models import Model

from db.channel_enums import MessageStatus, ProviderKind
from db.enums import Channel
from db.models import Customer, Interaction, Organization, User


class MessageProvider(Model):
    """How an organization sends and receives on some channels (credentials encrypted)."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="message_providers", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=100)
    kind = fields.CharEnumField(ProviderKind, max_length=16)
    channels = ArrayField("text")
    base_url = fields.CharField(max_length=500)
    account_id = fields.CharField(max_length=200, default="")
    sender = fields.CharField(max_length=200)
    # a Fernet token of the JSON credentials (services/messaging/credentials.py)
    credentials = fields.TextField()
    # the secret path segment of the provider's inbound webhook URLs
    inbound_key = fields.CharField(max_length=64, unique=True)
    rate_per_second = fields.FloatField(default=10.0)
    rate_burst = fields.IntField(default=20)
    quiet_hours_start = fields.SmallIntField(null=True)
    quiet_hours_end = fields.SmallIntField(null=True)
    time_zone = fields.CharField(max_length=64, default="UTC")
    create_leads = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int

    class Meta:
        table = "message_provider"


class ChannelMessage(Model):
    """The outbox of non-email channels: one message per outbound interaction, and its delivery."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="channel_messages", on_delete=fields.RESTRICT
    )
    interaction: fields.OneToOneRelation[Interaction] = fields.OneToOneField(
        "crm.Interaction", related_name="channel_message", on_delete=fields.RESTRICT
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "crm.Customer", related_name="channel_messages", on_delete=fields.RESTRICT
    )
    provider: fields.ForeignKeyRelation[MessageProvider] = fields.ForeignKeyField(
        "crm.MessageProvider", related_name="messages", on_delete=fields.RESTRICT
    )
    channel = fields.CharEnumField(Channel, max_length=16)
    idempotency_key = fields.CharField(max_length=200, null=True)
    recipient = fields.CharField(max_length=254)
    body = fields.TextField()
    encoding = fields.CharField(max_length=8)
    segments = fields.IntField()
    status = fields.CharEnumField(MessageStatus, max_length=16, default=MessageStatus.QUEUED)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    provider_message_id = fields.CharField(max_length=200, null=True)
    # QUEUED: when it may be tried next; SENDING: when the claiming worker's lease ends
    available_at = fields.DatetimeField()
    locked_by = fields.CharField(max_length=100, null=True)
    sent_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int
    interaction_id: int
    customer_id: int
    provider_id: int

    class Meta:
        table = "channel_message"


class ChannelInbound(Model):
    """A webhook a provider sent, by its id: retries of it are recorded only once."""

    id = fields.BigIntField(primary_key=True)
    provider: fields.ForeignKeyRelation[MessageProvider] = fields.ForeignKeyField(
        "crm.MessageProvider", related_name="inbound", on_delete=fields.CASCADE
    )
    external_id = fields.CharField(max_length=300)
    interaction: fields.ForeignKeyNullableRelation[Interaction] = fields.ForeignKeyField(
        "crm.Interaction", related_name="channel_inbound", null=True, on_delete=fields.SET_NULL
    )
    received_at = fields.DatetimeField(auto_now_add=True)

    provider_id: int
    interaction_id: int | None

    class Meta:
        table = "channel_inbound"


class ChannelConsent(Model):
    """A customer's opt-out (or opt-in again) on one channel, and how it was given."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="channel_consents", on_delete=fields.RESTRICT
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "crm.Customer", related_name="channel_consents", on_delete=fields.CASCADE
    )
    channel = fields.CharEnumField(Channel, max_length=16)
    opted_out = fields.BooleanField()
    source = fields.CharField(max_length=100)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int
    customer_id: int

    class Meta:
        table = "channel_consent"


class CustomerHandle(Model):
    """A customer's name on a social platform or chat widget (inbound messages match it)."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="customer_handles", on_delete=fields.RESTRICT
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "crm.Customer", related_name="handles", on_delete=fields.CASCADE
    )
    platform = fields.CharField(max_length=50)
    handle = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    organization_id: int
    customer_id: int

    class Meta:
        table = "customer_handle"


class ConversationRead(Model):
    """How far a user has read a customer's conversation."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name="conversation_reads", on_delete=fields.CASCADE
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "crm.Customer", related_name="conversation_reads", on_delete=fields.CASCADE
    )
    read_at = fields.DatetimeField()

    user_id: int
    customer_id: int

    class Meta:
        table = "conversation_read"
