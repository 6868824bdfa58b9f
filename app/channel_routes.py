"""Signed webhook endpoints of messaging providers: inbound messages, receipts, call events.

``/inbound/channels/{key}/twilio/message|status|call`` take Twilio's form posts (verified by
``X-Twilio-Signature``); ``/inbound/channels/{key}/webhook`` takes the generic JSON (verified by
``X-CRM-Signature``). ``key`` is the provider's secret inbound key (see
``MessageProvider.inboundUrls``).
A bad signature is answered 403 and nothing is recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.config import Settings
from db import message_provider as providers
from db.channel_enums import ProviderKind
from schema.node import to_global_id
from services.messaging import credentials, inbound
from services.messaging.factory import build
from services.messaging.provider import ProviderConfig, SignedRequest

log = logging.getLogger("crm.channels")
Handler = Callable[[dict[str, Any], Any, str | None], Awaitable[tuple[int, dict[str, Any]]]]
TWILIO_HANDLERS: dict[str, Handler] = {
    "message": lambda p, form, ref: inbound.twilio_message(p, form),
    "status": inbound.twilio_status,
    "call": inbound.twilio_call,
}


def public_url(settings: Settings, request: Request) -> str:
    """The URL the provider posted to, as configured there (behind proxies too)."""
    query = request.url.query
    path = settings.public_base_url.rstrip("/") + request.url.path
    return f"{path}?{query}" if query else path


async def _verified(request: Request, provider: dict[str, Any], body: bytes,
                    form: list[tuple[str, str]]) -> bool:
    settings: Settings = request.app.state.settings
    try:
        secrets = credentials.unseal(settings, provider["credentials"])
    except ValueError:
        log.error("provider %s: credentials unreadable; webhook refused", provider["id"])
        return False
    config = ProviderConfig(
        id=provider["id"], kind=ProviderKind(provider["kind"]), base_url=provider["base_url"],
        account_id=provider["account_id"], sender=provider["sender"], credentials=secrets,
    )
    signed = SignedRequest(url=public_url(settings, request), headers=request.headers,
                           body=body, form=form)
    return build(config).verify(signed)


async def provider_webhook(request: Request) -> Response:
    """Verify, then record what the provider reports."""
    provider = await providers.by_inbound_key(request.path_params["key"])
    what = request.path_params["what"]
    expected = ProviderKind.WEBHOOK if what == "webhook" else ProviderKind.TWILIO
    if provider is None or provider["kind"] != expected or (
            what != "webhook" and what.removeprefix("twilio/") not in TWILIO_HANDLERS):
        return JSONResponse({"error": "no such webhook"}, status_code=404)
    body = await request.body()
    form: list[tuple[str, str]] = []
    if expected == ProviderKind.TWILIO:
        form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    if not await _verified(request, provider, body, form):
        return JSONResponse({"error": "bad signature"}, status_code=403)
    reference = request.query_params.get("ref")
    try:
        if expected == ProviderKind.WEBHOOK:
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise inbound.Malformed("the body is not JSON") from None
            status, answer = await inbound.generic(provider, data, reference)
        else:
            handler = TWILIO_HANDLERS[what.removeprefix("twilio/")]
            status, answer = await handler(provider, dict(form), reference)
    except inbound.Malformed as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    for name, type_name in (("interactionId", "Interaction"), ("customerId", "Customer")):
        if answer.get(name) is not None:
            answer[name] = to_global_id(type_name, answer[name])
    return JSONResponse(answer, status_code=status)


def routes() -> list[Route]:
    """The messaging webhook routes to mount in the app."""
    return [Route("/inbound/channels/{key}/{what:path}", provider_webhook, methods=["POST"])]
