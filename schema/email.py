"""Customer email in the API: templates, campaigns, inputs, payloads and their error codes."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from db.campaign import Progress
from db.email_enums import CampaignStatus, Refusal
from db.sql import Row
from schema.customer import CustomerFilter
from schema.email_delivery import EmailDelivery
from schema.errors import UserError
from schema.interaction import Interaction
from schema.node import Node, to_global_id

strawberry.enum(CampaignStatus)
strawberry.enum(Refusal, name="EmailErrorCode", description=(
    "Why an email, template or campaign was refused: the general codes plus NO_EMAIL_ADDRESS, "
    "OPTED_OUT, TEMPLATE_ERROR (syntax, sandbox or missing variable) and MESSAGE_TOO_LARGE."
))


@strawberry.type(description="A mistake in the input or a reason nothing was sent.")
class EmailError:
    code: Refusal
    field: list[str] | None = strawberry.field(
        description='Path to the input field, e.g. ["input", "customerId"]; null for the whole.'
    )
    message: str

    @classmethod
    def from_user_error(cls, error: UserError) -> EmailError:
        return cls(code=Refusal(error.code.value), field=error.field, message=error.message)


@strawberry.type(description="A reusable message; Jinja2, rendered per customer.")
class EmailTemplate(Node):
    id: strawberry.ID
    name: str
    subject: str = strawberry.field(description="A template too, e.g. 'Hello {{ customer.name }}'.")
    text: str | None = strawberry.field(description="Plain-text body (derived from html if null).")
    html: str | None = strawberry.field(description="HTML body; variables are escaped.")
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Row) -> EmailTemplate:
        return cls(
            id=to_global_id("EmailTemplate", row["id"]), name=row["name"],
            subject=row["subject"], text=row["text"], html=row["html"],
            created_at=row["created_at"], updated_at=row["updated_at"], pk=row["id"],
        )


@strawberry.type(description="A template sent to every consenting customer matching a filter.")
class Campaign(Node):
    id: strawberry.ID
    name: str
    status: CampaignStatus
    template_id: strawberry.ID
    total: int = strawberry.field(description="Consenting customers matched when it started.")
    queued: int = strawberry.field(description="Emails queued so far.")
    skipped: int = strawberry.field(description="Customers whose email could not be rendered.")
    sent: int
    failed: int
    bounced: int
    created_at: datetime
    queued_at: datetime | None = strawberry.field(description="When the last batch was queued.")

    @classmethod
    def from_row(cls, row: Row, progress: Progress | None) -> Campaign:
        progress = progress or Progress()
        return cls(
            id=to_global_id("Campaign", row["id"]), name=row["name"],
            status=CampaignStatus(row["status"]),
            template_id=to_global_id("EmailTemplate", row["template_id"]),
            total=row["total"], queued=row["queued"], skipped=row["skipped"],
            sent=progress.sent, failed=progress.failed, bounced=progress.bounced,
            created_at=row["created_at"], queued_at=row["queued_at"],
        )

    @strawberry.field(description="Every email is queued and none is waiting for delivery.")
    def done(self) -> bool:
        finished = self.sent + self.failed + self.bounced
        return self.status != CampaignStatus.QUEUEING and finished >= self.queued


@strawberry.input(description="One email to a customer: a templateId, or subject and body.")
class SendEmailInput:
    customer_id: strawberry.ID
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    template_id: strawberry.ID | None = None
    variables: JSON | None = strawberry.field(
        default=None, description="Template variables (a JSON object)."
    )
    idempotency_key: str | None = strawberry.field(
        default=None, description="Repeating a call with the same key sends nothing more."
    )


@strawberry.input
class CreateEmailTemplateInput:
    name: str
    subject: str
    text: str | None = None
    html: str | None = None


@strawberry.input(description="Changes to a template; omitted fields stay, null clears.")
class UpdateEmailTemplateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    subject: str | None = strawberry.UNSET
    text: str | None = strawberry.UNSET
    html: str | None = strawberry.UNSET


@strawberry.input(description="A campaign: one template to the customers matching a filter.")
class SendCampaignInput:
    template_id: strawberry.ID
    filter: CustomerFilter | None = None
    name: str | None = strawberry.field(default=None, description="Defaults to the template's.")
    variables: JSON | None = None
    idempotency_key: str | None = None


@strawberry.type
class SendEmailPayload:
    interaction: Interaction | None = None
    email: EmailDelivery | None = None
    errors: list[EmailError] = strawberry.field(default_factory=list)
    warnings: list[str] = strawberry.field(
        default_factory=list,
        description="What may keep the email from going out, e.g. no worker running.",
    )


@strawberry.type
class EmailTemplatePayload:
    template: EmailTemplate | None = None
    errors: list[EmailError] = strawberry.field(default_factory=list)


@strawberry.type
class CampaignPayload:
    campaign: Campaign | None = None
    errors: list[EmailError] = strawberry.field(default_factory=list)
