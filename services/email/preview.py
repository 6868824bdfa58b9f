"""What an email would say: sendEmail's rendering for one customer, nothing queued or sent."""

from __future__ import annotations

from core.config import Settings
from db import customer as customers
from db.email_enums import EmailRefused, Refusal
from services.email import tokens as email_tokens
from services.email.compose import rendered_for, with_picks
from services.email.send import SendRequest, content_of
from services.email.templates import Rendered


async def preview_email(settings: Settings, *, org_id: int, request: SendRequest) -> Rendered:
    """The subject, text and HTML ``request`` gives its customer; refused as sendEmail would
    refuse the content (opt-outs are not checked: a preview sends nothing)."""
    customer = (await customers.get_many(org_id=org_id, ids=[request.customer_id])).get(
        request.customer_id
    )
    if customer is None:
        raise EmailRefused(Refusal.NOT_FOUND, ("input", "customerId"), "customer not found")
    content = await content_of(org_id, request)
    if content.templated:
        [customer] = await with_picks(org_id, [customer])
    url = email_tokens.unsubscribe_url(settings, org_id, customer["id"])
    return rendered_for(content, customer, url)
