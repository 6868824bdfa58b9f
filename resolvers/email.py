"""Email queries and mutations: sendEmail, templates and campaigns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry

from auth.permissions import IsAgent, IsAuthenticated, IsManager
from auth.pii import refuse_hidden_search
from db import campaign as campaigns
from db import email as outbox_emails
from db import email_templates as templates
from db import interaction as interactions
from db.customer_filter import CustomerFilter
from db.email_enums import EmailRefused
from resolvers.common import attempt, missing, provided
from schema.email import (
    Campaign,
    CampaignPayload,
    CreateEmailTemplateInput,
    EmailError,
    EmailTemplate,
    EmailTemplatePayload,
    SendCampaignInput,
    SendEmailInput,
    SendEmailPayload,
    UpdateEmailTemplateInput,
)
from schema.email_delivery import EmailDelivery
from schema.interaction import Interaction
from schema.node import decode_id
from schema.pagination import Connection, root_connection
from services.email.campaigns import CampaignRequest, create_campaign
from services.email.send import SendRequest, send_email
from services.email.templates import syntax_error

NO_WORKER_WARNING = (
    "No email worker is running, so this email stays QUEUED until one starts: run `crm worker`"
    " (anywhere, with the same DATABASE_URL) or set CRM_EMAIL_WORKER_IN_PROCESS=true for"
    " crm serve."
)

T = TypeVar("T")


async def attempt_email(work: Callable[[], Awaitable[T]]) -> tuple[T | None, list[EmailError]]:
    """Like ``attempt``, with email refusals (OPTED_OUT, ...) returned as payload errors too."""
    try:
        result, errors = await attempt(work)
    except EmailRefused as exc:
        return None, [EmailError(code=exc.code, field=list(exc.field) or None,
                                 message=exc.message)]
    return result, [EmailError.from_user_error(e) for e in errors]


async def _campaign(org_id: int, row: dict[str, Any]) -> Campaign:
    progress = await campaigns.progress(ids=[row["id"]])
    return Campaign.from_row(row, progress.get(row["id"]))


async def load_campaign(org_id: int, pk: int) -> Campaign | None:
    """Campaign ``pk`` of the organization with its progress, or None."""
    row = (await campaigns.get_many(org_id=org_id, ids=[pk])).get(pk)
    return await _campaign(org_id, row) if row else None


@strawberry.type
class EmailQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def email_templates(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[EmailTemplate]:
        """Your organization's email templates, newest first."""
        org_id = info.context.require_viewer().organization_id
        return await root_connection(
            info, templates.SORT, lambda: templates.source(org_id), EmailTemplate.from_row,
            first, after, last, before,
        )

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def email_template(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> EmailTemplate | None:
        org_id = info.context.require_viewer().organization_id
        row = await templates.get(org_id=org_id, template_id=decode_id(id, "EmailTemplate"))
        return EmailTemplate.from_row(row) if row else None

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def campaign(self, info: strawberry.Info, id: strawberry.ID) -> Campaign | None:
        """A campaign with its progress (total, queued, sent, failed)."""
        org_id = info.context.require_viewer().organization_id
        return await load_campaign(org_id, decode_id(id, "Campaign"))


@strawberry.type
class EmailMutation:
    @strawberry.mutation(permission_classes=[IsAgent])
    async def send_email(self, info: strawberry.Info, input: SendEmailInput) -> SendEmailPayload:
        """Queue an email to a customer, recorded as an OUTBOUND EMAIL interaction."""
        viewer = info.context.require_viewer()
        org_id = viewer.organization_id

        async def work() -> tuple[dict[str, Any], dict[str, Any]]:
            request = SendRequest(
                customer_id=decode_id(input.customer_id, "Customer", "input.customerId"),
                subject=input.subject, text=input.text, html=input.html,
                template_id=decode_id(input.template_id, "EmailTemplate", "input.templateId")
                if input.template_id is not None else None,
                variables=input.variables if input.variables is not None else {},
                idempotency_key=input.idempotency_key,
            )
            email = await send_email(info.context.settings, org_id=org_id,
                                     user_id=viewer.user_id, request=request)
            found = await interactions.get_many(org_id=org_id, ids=[email["interaction_id"]])
            return email, found[email["interaction_id"]]

        result, errors = await attempt_email(work)
        if result is None:
            return SendEmailPayload(errors=errors)
        email, interaction = result
        warnings = [] if await outbox_emails.workers_alive() else [NO_WORKER_WARNING]
        return SendEmailPayload(interaction=Interaction.from_row(interaction),
                                email=EmailDelivery.from_row(email), warnings=warnings)

    @strawberry.mutation(permission_classes=[IsManager])
    async def create_email_template(
        self, info: strawberry.Info, input: CreateEmailTemplateInput
    ) -> EmailTemplatePayload:
        org_id = info.context.require_viewer().organization_id
        row, errors = await attempt_email(
            lambda: templates.create(
                org_id=org_id, data=provided(input), syntax_error=syntax_error
            )
        )
        return EmailTemplatePayload(
            template=EmailTemplate.from_row(row) if row else None, errors=errors
        )

    @strawberry.mutation(permission_classes=[IsManager])
    async def update_email_template(
        self, info: strawberry.Info, input: UpdateEmailTemplateInput
    ) -> EmailTemplatePayload:
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            data = provided(input)
            template_id = decode_id(data.pop("id"), "EmailTemplate", "input.id")
            row = await templates.update(
                org_id=org_id, template_id=template_id, data=data, syntax_error=syntax_error
            )
            if row is None:
                raise missing("email template")
            return row

        row, errors = await attempt_email(work)
        return EmailTemplatePayload(
            template=EmailTemplate.from_row(row) if row else None, errors=errors
        )

    @strawberry.mutation(permission_classes=[IsManager])
    async def send_campaign(
        self, info: strawberry.Info, input: SendCampaignInput
    ) -> CampaignPayload:
        """Start a campaign; workers queue its emails in batches (see ``campaign(id)``)."""
        viewer = info.context.require_viewer()

        async def work() -> dict[str, Any]:
            request = CampaignRequest(
                template_id=decode_id(input.template_id, "EmailTemplate", "input.templateId"),
                customer_filter=input.filter.to_filter() if input.filter
                else CustomerFilter(),
                name=input.name, variables=input.variables or {},
                idempotency_key=input.idempotency_key,
            )
            refuse_hidden_search(info.context, request.customer_filter)
            return await create_campaign(info.context.settings, org_id=viewer.organization_id,
                                         user_id=viewer.user_id, request=request)

        row, errors = await attempt_email(work)
        campaign = await _campaign(viewer.organization_id, row) if row else None
        return CampaignPayload(campaign=campaign, errors=errors)

    @strawberry.mutation(permission_classes=[IsManager])
    async def cancel_campaign(self, info: strawberry.Info, id: strawberry.ID) -> CampaignPayload:
        """Stop a campaign: nothing more is queued, queued emails are not sent."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> dict[str, Any]:
            row = await campaigns.cancel(org_id=org_id, campaign_id=decode_id(id, "Campaign"))
            if row is None:
                raise missing("active campaign", "id")
            return row

        row, errors = await attempt_email(work)
        campaign = await _campaign(org_id, row) if row else None
        return CampaignPayload(campaign=campaign, errors=errors)
