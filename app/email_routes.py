"""Public email endpoints: one-click unsubscribe (RFC 8058) and inbound mail from a gateway."""

from __future__ import annotations

import hmac
import html
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from core.config import Settings
from db import audit
from db import email as emails
from db import email_inbound as inbound
from db.email_enums import EmailStatus, SuppressionReason
from schema.node import to_global_id
from services.email import tokens as email_tokens
from services.email.inbound import Inbound, Malformed, parse

log = logging.getLogger("crm.email")
SECRET_HEADER = "x-crm-inbound-secret"  # noqa: S105 (a header name)
_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;
margin:4rem auto;padding:0 1rem;line-height:1.5}}button{{font-size:1rem;padding:.5rem 1rem}}
</style></head><body><h1>{title}</h1>{body}</body></html>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status,
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def _invalid_link() -> HTMLResponse:
    return _page("Link not valid", "<p>This unsubscribe link is not valid. Please use the link "
                 "from the most recent email you received.</p>", 404)


async def unsubscribe_page(request: Request) -> Response:
    """GET: a confirmation page (link scanners must not unsubscribe anyone by fetching it)."""
    settings: Settings = request.app.state.settings
    if email_tokens.read(settings, request.path_params["token"]) is None:
        return _invalid_link()
    return _page("Unsubscribe", '<p>Stop receiving email from us?</p><form method="post">'
                 '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
                 '<button type="submit">Unsubscribe</button></form>')


async def unsubscribe(request: Request) -> Response:
    """POST: record the opt-out (RFC 8058 one-click, or the confirmation form)."""
    settings: Settings = request.app.state.settings
    ids = email_tokens.read(settings, request.path_params["token"])
    if ids is None:
        return _invalid_link()
    org_id, customer_id = ids
    if await emails.unsubscribe(org_id=org_id, customer_id=customer_id) is None:
        return _invalid_link()
    log.info("customer %s of organization %s unsubscribed", customer_id, org_id)
    await _audit(request, "unsubscribe", org_id, ("Customer", customer_id))
    return _page("Unsubscribed", "<p>You will not receive further email from us.</p>")


def _authorised(request: Request, secret: str) -> bool:
    offered = request.headers.get(SECRET_HEADER, "")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        offered = offered or token.strip()
    return hmac.compare_digest(offered.encode(), secret.encode())


def _problem(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


async def inbound_email(request: Request) -> Response:
    """Record a raw message posted by the mail gateway as an INBOUND EMAIL interaction."""
    settings: Settings = request.app.state.settings
    if not settings.inbound_email_secret:
        return _problem(404, "inbound email is not configured (CRM_INBOUND_EMAIL_SECRET)")
    if not _authorised(request, settings.inbound_email_secret):
        return _problem(401, "missing or wrong inbound secret")
    try:
        message = parse(await request.body())
    except Malformed as exc:
        return _problem(400, str(exc))
    if message.bounce is not None:
        return await _record_bounce(request, message)
    return await _record_reply(request, message, request.query_params.get("org"))


async def _audit(
    request: Request, action: str, org_id: int, target: tuple[str, int]
) -> None:
    """Audit what the mail gateway or a customer's link did (no user or key is the actor)."""
    client = request.client
    await audit.record(audit.Event(
        organization_id=org_id, action=action, target_type=target[0], target_id=target[1],
        request_id=request.scope.get("state", {}).get("request_id"),
        ip=client.host if client else None,
    ))


async def _record_bounce(request: Request, message: Inbound) -> Response:
    bounce = message.bounce
    assert bounce is not None
    original = await emails.get_by_message_id(bounce.original_message_id)
    if original is None:
        return _problem(422, "the delivery report is about a message this CRM did not send")
    if bounce.permanent:
        await emails.set_status(original["id"], EmailStatus.BOUNCED, error=bounce.detail)
        await emails.suppress(
            org_id=original["organization_id"], email=original["recipient"],
            customer_id=original["customer_id"], reason=SuppressionReason.BOUNCED,
            detail=bounce.detail,
        )
        await _audit(request, "inboundBounce", original["organization_id"],
                     ("Interaction", original["interaction_id"]))
    return JSONResponse({"bounced": bounce.permanent,
                         "interactionId": to_global_id("Interaction", original["interaction_id"])})


async def _record_reply(request: Request, message: Inbound, org_slug: str | None) -> Response:
    thread = await inbound.find_thread(message.references)
    org_id = thread["organization_id"] if thread else None
    if org_id is None and org_slug:
        org_id = await inbound.organization_by_slug(org_slug)
    if org_id is None:
        return _problem(422, "cannot tell the organization: the message replies to none of "
                        "ours and no known ?org= slug was given")
    customer_id = await inbound.customer_by_email(org_id=org_id, email=message.sender)
    if customer_id is None and thread is not None:
        customer_id = thread["customer_id"]  # a reply from another address of the customer
    if customer_id is None:
        return _problem(422, f"no customer of the organization has the address {message.sender}")
    metadata: dict[str, Any] = {"messageId": message.message_id, "from": message.sender}
    if thread is not None:
        metadata["inReplyTo"] = thread["message_id"]
        metadata["inReplyToInteractionId"] = to_global_id("Interaction", thread["interaction_id"])
    row, created = await inbound.record(
        org_id=org_id, customer_id=customer_id, message_id=message.message_id,
        sender=message.sender, subject=message.subject, text=message.text,
        occurred_at=message.sent_at, metadata=metadata,
        in_reply_to=thread["interaction_id"] if thread else None,
    )
    if created:
        await _audit(request, "inboundEmail", org_id, ("Interaction", row["interaction_id"]))
    body = {
        "interactionId": to_global_id("Interaction", row["interaction_id"]),
        "customerId": to_global_id("Customer", customer_id),
        "inReplyTo": to_global_id("Interaction", row["in_reply_to_id"])
        if row["in_reply_to_id"] else None,
        "duplicate": not created,
    }
    return JSONResponse(body, status_code=201 if created else 200)


def routes() -> list[Route]:
    """The email routes to mount in the app."""
    return [
        Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"]),
        Route("/unsubscribe/{token}", unsubscribe, methods=["POST"]),
        Route("/inbound/email", inbound_email, methods=["POST"]),
    ]
