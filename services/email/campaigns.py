"""Campaigns: checked creation, and the batch step workers run until every email is queued."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from core.config import Settings
from db import campaign as campaigns
from db import email_templates as templates
from db import validation
from db.customer_filter import CustomerFilter
from db.email import QueuedEmail
from db.email_enums import EmailRefused, Refusal
from services.email.compose import Content, compose, with_picks
from services.email.send import check_idempotency_key

log = logging.getLogger("crm.campaigns")
# what a template is test-rendered with when a campaign is created
SAMPLE_CUSTOMER: dict[str, Any] = {
    "id": 0, "name": "Sample Customer", "email": "sample@example.com", "phone": None,
    "company": None, "city": None, "country": None, "stage": "LEAD", "tags": [],
    "custom_fields": {},
    "recommendations": [{"name": "Sample product", "sku": "SAMPLE-1", "category": "Sample",
                         "price": "10.00", "currency": "USD", "reason": "BOUGHT_WITH"}],
}


@dataclass(frozen=True)
class CampaignRequest:
    """The input of ``sendCampaign`` with ids decoded and the filter converted."""

    template_id: int
    customer_filter: CustomerFilter
    name: str | None = None
    variables: Any = field(default_factory=dict)  # checked to be a JSON object
    idempotency_key: str | None = None


def _content(template: dict[str, Any], variables: dict[str, Any]) -> Content:
    return Content(template["subject"], template["text"], template["html"], templated=True,
                   variables=variables)


async def create_campaign(
    settings: Settings, *, org_id: int, user_id: int | None, request: CampaignRequest
) -> dict[str, Any]:
    """Check the template renders, then store the campaign (workers queue its emails)."""
    key = check_idempotency_key(request.idempotency_key)
    if key is not None:
        earlier = await campaigns.get_by_idempotency_key(org_id=org_id, key=key)
        if earlier is not None:
            return earlier
    if request.customer_filter.deleted:
        raise EmailRefused(Refusal.BAD_USER_INPUT, ("input", "filter", "deleted"),
                           "campaigns go to live customers only")
    template = await templates.get(org_id=org_id, template_id=request.template_id)
    if template is None:
        raise EmailRefused(Refusal.NOT_FOUND, ("input", "templateId"), "email template not found")
    try:
        variables = validation.json_object(request.variables)
    except ValueError as exc:
        raise EmailRefused(Refusal.BAD_USER_INPUT, ("input", "variables"), str(exc)) from None
    c = validation.Cleaner()
    name = c.text("name", request.name, 200) or template["name"]
    c.raise_if_any()
    compose(settings, org_id, SAMPLE_CUSTOMER, _content(template, variables))
    return await campaigns.create(
        org_id=org_id, user_id=user_id, template_id=template["id"], name=name,
        f=request.customer_filter, variables=variables, idempotency_key=key,
    )


async def advance(settings: Settings, org_ids: Sequence[int] | None = None) -> bool:
    """Queue the next batch of one campaign in one short transaction; False if none is left."""
    async with in_transaction() as conn:
        campaign = await campaigns.lock_queueing(conn, org_ids)
        if campaign is None:
            return False
        template = (await templates.get_many(
            org_id=campaign["organization_id"], ids=[campaign["template_id"]]
        )).get(campaign["template_id"])
        batch = await campaigns.next_recipients(conn, campaign, settings.campaign_batch_size)
        emails: list[QueuedEmail] = []
        skipped = 0
        if template is not None and batch:
            batch = await with_picks(campaign["organization_id"], list(batch))
        for customer in batch if template is not None else []:
            try:
                emails.append(compose(settings, campaign["organization_id"], customer,
                                      _content(template or {}, campaign["variables"])))
            except EmailRefused as exc:
                skipped += 1
                log.warning("campaign %s skips customer %s: %s", campaign["id"], customer["id"],
                            exc.message)
        done = template is None or len(batch) < settings.campaign_batch_size
        cursor = batch[-1]["id"] if batch else campaign["cursor"]
        await campaigns.queue_batch(conn, campaign, emails, skipped=skipped, cursor=cursor,
                                    done=done)
    return True
