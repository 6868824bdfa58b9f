"""Sending one email: checks, composition and queueing, with idempotency keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

from core.config import Settings
from db import customer as customers
from db import email as emails
from db import email_templates as templates
from db import validation
from db.email_enums import EmailRefused, Refusal
from services.email.compose import Content, check_recipient, compose, with_picks

MAX_IDEMPOTENCY_KEY = 200


@dataclass(frozen=True)
class SendRequest:
    """The input of ``sendEmail`` with ids already decoded."""

    customer_id: int
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    template_id: int | None = None
    variables: Any = field(default_factory=dict)  # checked to be a JSON object
    idempotency_key: str | None = None


def _refuse(
    field_name: str, message: str, code: Refusal = Refusal.BAD_USER_INPUT
) -> NoReturn:
    raise EmailRefused(code, ("input", field_name), message)


def check_idempotency_key(key: str | None) -> str | None:
    """A usable idempotency key (printable, at most 200 characters) or None."""
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        _refuse("idempotencyKey", f"must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters")
    return key


async def content_of(org_id: int, request: SendRequest) -> Content:
    """The literal content or the template to render; inconsistent inputs are refused."""
    try:
        variables = validation.json_object(request.variables)
    except ValueError as exc:
        raise EmailRefused(Refusal.BAD_USER_INPUT, ("input", "variables"), str(exc)) from None
    if request.template_id is not None:
        for name in ("subject", "text", "html"):
            if getattr(request, name) is not None:
                _refuse(name, "give either a templateId or the content, not both")
        template = await templates.get(org_id=org_id, template_id=request.template_id)
        if template is None:
            _refuse("templateId", "email template not found", Refusal.NOT_FOUND)
        return Content(template["subject"], template["text"], template["html"],
                       templated=True, variables=variables)
    if variables:
        _refuse("variables", "variables are only used with a templateId")
    if not (request.subject or "").strip():
        _refuse("subject", "is required without a templateId")
    if not (request.text or "").strip() and not (request.html or "").strip():
        _refuse("text", "give a text or an HTML body (or a templateId)")
    return Content(request.subject or "", request.text, request.html)


async def send_email(
    settings: Settings, *, org_id: int, user_id: int | None, request: SendRequest
) -> dict[str, Any]:
    """Queue one email to a customer; returns its delivery row (the earlier one on a repeat)."""
    key = check_idempotency_key(request.idempotency_key)
    if key is not None:
        earlier = await emails.get_by_idempotency_key(org_id=org_id, key=key)
        if earlier is not None:
            return earlier
    # held live until the email is queued: a merge or deletion in progress is waited for
    held = await customers.hold_live(org_id=org_id, customer_id=request.customer_id)
    customer = (await customers.get_many(org_id=org_id, ids=[request.customer_id])).get(
        request.customer_id
    ) if held else None
    if customer is None:
        raise EmailRefused(Refusal.NOT_FOUND, ("input", "customerId"), "customer not found")
    suppressed = bool(customer["email"]) and await emails.is_suppressed(
        org_id=org_id, email=customer["email"]
    )
    check_recipient(customer, suppressed=suppressed)
    content = await content_of(org_id, request)
    if content.templated:
        [customer] = await with_picks(org_id, [customer])
    email = compose(settings, org_id, customer, content)
    return await emails.queue(org_id=org_id, user_id=user_id, email=email, idempotency_key=key)
