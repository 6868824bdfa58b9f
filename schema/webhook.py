"""Outbound webhooks in the API: endpoints, their deliveries, inputs and payloads."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from db import webhook_delivery as deliveries
from db.sql import Row
from db.webhook_models import DeliveryStatus
from schema.errors import UserError
from schema.node import Node, to_global_id
from schema.pagination import Connection, child_connection, page_args_for

WebhookDeliveryStatus = strawberry.enum(DeliveryStatus, name="WebhookDeliveryStatus")


@strawberry.enum(description="What a webhook can be told about.")
class WebhookEventType(Enum):
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    CUSTOMER_DELETED = "customer.deleted"
    CUSTOMER_MERGED = "customer.merged"
    INTERACTION_CREATED = "interaction.created"
    ORDER_CREATED = "order.created"
    ORDER_UPDATED = "order.updated"
    PRODUCT_CREATED = "product.created"
    PRODUCT_UPDATED = "product.updated"
    EMAIL_STATUS_CHANGED = "email.status_changed"
    PREDICTION_CHANGED = "prediction.changed"
    COMPANY_CREATED = "company.created"
    COMPANY_UPDATED = "company.updated"
    COMPANY_DELETED = "company.deleted"
    DEAL_CREATED = "deal.created"
    DEAL_UPDATED = "deal.updated"
    DEAL_STAGE_CHANGED = "deal.stage_changed"
    DEAL_DELETED = "deal.deleted"
    TASK_CREATED = "task.created"
    TASK_UPDATED = "task.updated"
    CUSTOM_FIELD_DEFINED = "custom_field.defined"
    CUSTOM_FIELD_UPDATED = "custom_field.updated"
    CUSTOM_FIELD_DELETED = "custom_field.deleted"


@strawberry.type(description="A logged change, as delivered to webhooks.")
class WebhookEvent:
    id: strawberry.ID = strawberry.field(description="Also sent as Crm-Webhook-Id.")
    sequence: int = strawberry.field(
        description="Gapless per organization, in commit order."
    )
    type: str
    occurred_at: datetime


@strawberry.type(description="One event sent (or to be sent) to one webhook.")
class WebhookDelivery(Node):
    id: strawberry.ID
    status: WebhookDeliveryStatus  # type: ignore[valid-type]
    http_status: int | None
    attempt: int = strawberry.field(description="Attempts made so far.")
    duration_ms: int | None
    error: str | None = strawberry.field(description="Why the last attempt failed (bounded).")
    event: WebhookEvent
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due (PENDING only)."
    )
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> WebhookDelivery:
        """The API object of a ``webhook_delivery`` row joined with its event."""
        pending = row["status"] == DeliveryStatus.PENDING
        return cls(
            id=to_global_id("WebhookDelivery", row["id"]), status=DeliveryStatus(row["status"]),
            http_status=row["http_status"], attempt=row["attempt"],
            duration_ms=row["duration_ms"], error=row["error"],
            event=WebhookEvent(
                id=to_global_id("WebhookEvent", row["event_id"]),
                sequence=row["event_sequence"], type=row["event_type"],
                occurred_at=row["event_occurred_at"],
            ),
            next_attempt_at=row["next_attempt_at"] if pending else None,
            delivered_at=row["delivered_at"], created_at=row["created_at"],
        )


@strawberry.type(description="An endpoint of a partner that receives signed events.")
class Webhook(Node):
    id: strawberry.ID
    url: str
    description: str
    events: list[WebhookEventType]
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    circuit_open_until: datetime | None = strawberry.field(
        description="While in the future, deliveries wait (the endpoint keeps failing)."
    )
    last_success_at: datetime | None
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]

    @strawberry.field(description="Deliveries to this webhook, newest first.")
    async def deliveries(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
        status: WebhookDeliveryStatus | None = None,  # type: ignore[valid-type]
    ) -> Connection[WebhookDelivery]:
        wanted = DeliveryStatus(status).value if status is not None else None
        org_id = info.context.loaders.org_id
        return await child_connection(
            info, self.pk, source=lambda: deliveries.source(org_id, wanted),
            parent="webhook_id", sort=deliveries.SORT,
            args=page_args_for(info, deliveries.SORT, first, after, last, before),
            filter_key=wanted, node_of=WebhookDelivery.from_row,
        )

    @classmethod
    def from_row(cls, row: Row) -> Webhook:
        """The API object of a ``webhook`` row (never its secret)."""
        return cls(
            id=to_global_id("Webhook", row["id"]), url=row["url"],
            description=row["description"],
            events=[WebhookEventType(name) for name in row["event_types"]],
            enabled=row["enabled"], disabled_reason=row["disabled_reason"],
            consecutive_failures=row["consecutive_failures"],
            circuit_open_until=row["circuit_open_until"],
            last_success_at=row["last_success_at"], created_at=row["created_at"],
            updated_at=row["updated_at"], pk=row["id"],
        )


@strawberry.input
class CreateWebhookInput:
    url: str
    events: list[WebhookEventType]
    secret: str | None = strawberry.field(
        default=None, description="At least 24 characters; generated (whsec_...) when left out."
    )
    description: str = ""


@strawberry.input
class UpdateWebhookInput:
    id: strawberry.ID
    url: str | None = strawberry.UNSET
    events: list[WebhookEventType] | None = strawberry.UNSET
    enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Enabling again resets the failure streak."
    )
    description: str | None = strawberry.UNSET


@strawberry.type
class CreateWebhookPayload:
    webhook: Webhook | None = None
    secret: str | None = strawberry.field(
        default=None, description="The signing secret; shown only in this payload."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookPayload:
    webhook: Webhook | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RotateWebhookSecretPayload:
    webhook: Webhook | None = None
    secret: str | None = strawberry.field(
        default=None, description="The new secret; the old one keeps signing for a while."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteWebhookPayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ReplayWebhookEventsPayload:
    queued: int = strawberry.field(default=0, description="How many events were queued again.")
    errors: list[UserError] = strawberry.field(default_factory=list)
