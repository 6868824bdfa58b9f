"""Email outcomes for dashboards, and previews of an email before it is sent."""

from __future__ import annotations

from datetime import datetime

import strawberry

from auth.permissions import IsAgent, IsAuthenticated
from db import email_stats
from resolvers.email import attempt_email
from schema.email import SendEmailInput
from schema.email_preview import EmailPreview, EmailPreviewPayload
from schema.email_stats import EmailStats
from schema.node import decode_id
from services.email.preview import preview_email
from services.email.send import SendRequest


@strawberry.type
class EmailStatsQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def email_stats(
        self, info: strawberry.Info, since: datetime | None = None, until: datetime | None = None
    ) -> EmailStats:
        """Outbound emails created in [since, until) by status, and the opted-out customers."""
        org_id = info.context.require_viewer().organization_id
        counts = await email_stats.outcomes(org_id=org_id, since=since, until=until)
        return EmailStats.from_counts(counts)

    @strawberry.field(permission_classes=[IsAgent])
    async def preview_email(
        self, info: strawberry.Info, input: SendEmailInput
    ) -> EmailPreviewPayload:
        """What sendEmail with this input would send (rendered, nothing queued)."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> EmailPreview:
            request = SendRequest(
                customer_id=decode_id(input.customer_id, "Customer", "input.customerId"),
                subject=input.subject, text=input.text, html=input.html,
                template_id=decode_id(input.template_id, "EmailTemplate", "input.templateId")
                if input.template_id is not None else None,
                variables=input.variables if input.variables is not None else {},
            )
            rendered = await preview_email(info.context.settings, org_id=org_id, request=request)
            return EmailPreview(subject=rendered.subject, text=rendered.text, html=rendered.html)

        preview, errors = await attempt_email(work)
        return EmailPreviewPayload(preview=preview, errors=errors)
