"""Turning a customer and some content into a complete, size-checked MIME message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.config import Settings
from db import recommendation as recommendations
from db.email import QueuedEmail
from db.email_enums import EmailRefused, Refusal
from services.email import mailer
from services.email import tokens as email_tokens
from services.email.templates import Rendered, TemplateProblem, html_to_text, render, text_to_html

MAX_SUBJECT = 998  # the longest header line RFC 5322 allows


@dataclass(frozen=True)
class Content:
    """What to send: literal text, or a template rendered per customer with ``variables``."""

    subject: str
    text: str | None
    html: str | None
    templated: bool = False
    variables: Mapping[str, Any] = field(default_factory=dict)
    field_prefix: tuple[str, ...] = ("input",)


def customer_context(customer: Mapping[str, Any]) -> dict[str, Any]:
    """The customer fields templates may use as ``customer.<field>``."""
    name = customer["name"] or ""
    return {
        "name": name,
        "first_name": name.split()[0] if name.split() else name,
        "email": customer["email"], "phone": customer["phone"],
        "company": customer["company"], "city": customer["city"],
        "country": customer["country"], "stage": customer["stage"],
        "tags": list(customer["tags"] or []),
        "custom_fields": dict(customer["custom_fields"] or {}),
        # "your picks": what the recommender suggests (see picks_for), best first
        "recommendations": list(customer.get("recommendations") or []),
    }


PICKS = 5


async def with_picks(org_id: int, customers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The customers with their recommendations for templates (``customer.recommendations``:
    name, sku, category, price, currency, reason), read in one statement for all of them."""
    lists = await recommendations.for_customers(org_id=org_id, ids=[c["id"] for c in customers])

    def picks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        chosen = [r for r in rows if r["active"] and not r["purchased"]][:PICKS]
        return [{"name": r["name"], "sku": r["sku"], "category": r["category"],
                 "price": str(r["price"].quantize(Decimal("0.01"))), "currency": r["currency"],
                 "reason": r["kind"]} for r in chosen]

    return [{**c, "recommendations": picks(lists.get(c["id"], []))} for c in customers]


def check_recipient(customer: Mapping[str, Any], *, suppressed: bool) -> None:
    """Refuse customers without an address and those who opted out."""
    if not customer["email"]:
        raise EmailRefused(
            Refusal.NO_EMAIL_ADDRESS, ("input", "customerId"), "the customer has no email address"
        )
    if customer["email_opt_out"] or suppressed:
        raise EmailRefused(
            Refusal.OPTED_OUT, ("input", "customerId"),
            "the customer opted out of email (unsubscribed or bounced)",
        )


def _render(content: Content, context: Mapping[str, Any]) -> Rendered:
    if not content.templated:
        text = content.text
        if not text and content.html:
            text = html_to_text(content.html)
        return Rendered(" ".join(content.subject.split()), text or "", content.html)
    try:
        return render(content.subject, content.text, content.html, context)
    except TemplateProblem as exc:
        path = (*content.field_prefix, "variables") if "missing" in exc.message else (
            *content.field_prefix, "templateId")
        raise EmailRefused(Refusal.TEMPLATE_ERROR, path, f"{exc.part}: {exc.message}") from None


def rendered_for(
    content: Content, customer: Mapping[str, Any], unsubscribe_url: str
) -> Rendered:
    """The subject and bodies ``content`` gives for this customer (template problems refused)."""
    context = {
        **content.variables, "customer": customer_context(customer),
        "unsubscribe_url": unsubscribe_url,
    }
    return _render(content, context)


def compose(
    settings: Settings, org_id: int, customer: Mapping[str, Any], content: Content
) -> QueuedEmail:
    """The message for one customer; template problems and oversize messages are refused."""
    unsubscribe_url = email_tokens.unsubscribe_url(settings, org_id, customer["id"])
    rendered = rendered_for(content, customer, unsubscribe_url)
    if not rendered.subject or len(rendered.subject) > MAX_SUBJECT:
        raise EmailRefused(
            Refusal.BAD_USER_INPUT, (*content.field_prefix, "subject"),
            f"the subject must have 1 to {MAX_SUBJECT} characters",
        )
    _, sender = mailer.sender_address(settings)
    message_id = mailer.new_message_id(sender)
    mime = mailer.build(mailer.Outgoing(
        sender=sender, recipient=customer["email"], recipient_name=customer["name"],
        subject=rendered.subject, text=rendered.text,
        html=rendered.html if rendered.html is not None else text_to_html(rendered.text),
        message_id=message_id, unsubscribe_url=unsubscribe_url,
    ), settings)
    limit = settings.email_max_message_bytes
    if len(mime) > limit:
        raise EmailRefused(
            Refusal.MESSAGE_TOO_LARGE, content.field_prefix,
            f"the message would be {len(mime)} bytes; the limit is {limit}",
        )
    return QueuedEmail(
        customer_id=customer["id"], recipient=customer["email"], sender=sender,
        subject=rendered.subject, text=rendered.text, message_id=message_id, mime=mime,
    )
