"""A local stand-in for a Twilio-compatible provider, over real HTTP (uvicorn on loopback).

It speaks the parts of the public REST API the CRM uses and checks what it is sent: HTTP basic
auth (AccountSid, AuthToken), form encoding, the required parameters, E.164 numbers. It answers
as scripted (``script``: ``ok``, ``500``, ``429``, ``400``, ``hang``), honours
``I-Twilio-Idempotency-Token`` (a repeat gets the first answer's sid), and sends signed webhooks
back to the CRM: delivery receipts to each message's ``StatusCallback`` (when ``receipts`` is
on), inbound messages and call events on request. Its signature code is its own (the published
algorithm), not the CRM's.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

E164 = re.compile(r"^(whatsapp:)?\+[1-9][0-9]{6,14}$")


def twilio_signature(token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """Twilio's published webhook signature: HMAC-SHA1 of the URL and the sorted parameters."""
    data = url + "".join(f"{k}{v}" for k, v in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@dataclass
class Sent:
    """One message or call the CRM created, as it arrived."""

    kind: str  # Messages or Calls
    form: dict[str, str]
    events: list[str]
    idempotency_token: str | None
    sid: str


@dataclass
class StandIn:
    """The provider's state: accounts, what it was sent, how it will answer next."""

    account_sid: str = field(default_factory=lambda: "AC" + uuid.uuid4().hex)
    auth_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    sent: list[Sent] = field(default_factory=list)
    attempts: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    script: deque[str] = field(default_factory=deque)
    receipts: bool = True
    hang_seconds: float = 30.0
    url: str = ""
    callbacks: list[tuple[str, int]] = field(default_factory=list)
    _tokens: dict[str, str] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def _auth_ok(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        return user == self.account_sid and password == self.auth_token

    async def create(self, request: Request) -> Response:
        """POST /2010-04-01/Accounts/{sid}/Messages.json or Calls.json."""
        self.attempts += 1
        kind = request.path_params["kind"]
        if request.path_params["sid"] != self.account_sid or not self._auth_ok(request):
            self.refused["auth"] += 1
            return JSONResponse({"code": 20003, "message": "Authenticate"}, status_code=401)
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            self.refused["content-type"] += 1
            return JSONResponse({"code": 20001, "message": "form expected"}, status_code=400)
        pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True)
        form = dict(pairs)
        needed = ("To", "From", "Body") if kind == "Messages" else ("To", "From", "Twiml")
        if any(not form.get(name) for name in needed) or not all(
                E164.match(form[name]) for name in ("To", "From")):
            self.refused["parameters"] += 1
            return JSONResponse({"code": 21211, "message": "Invalid 'To' Phone Number"},
                                status_code=400)
        action = self.script.popleft() if self.script else "ok"
        if action == "hang":
            await asyncio.sleep(self.hang_seconds)
        elif action != "ok":
            return JSONResponse({"code": 20500, "message": f"scripted {action}"},
                                status_code=int(action))
        token = request.headers.get("i-twilio-idempotency-token")
        sid = self._tokens.get(token or "") or ("SM" if kind == "Messages" else "CA") + (
            uuid.uuid4().hex)
        if token:
            self._tokens[token] = sid
        self.sent.append(Sent(kind, form, [v for k, v in pairs if k == "StatusCallbackEvent"],
                              token, sid))
        if self.receipts and kind == "Messages" and form.get("StatusCallback"):
            self._later(self._receipts(form["StatusCallback"], sid, form))
        return JSONResponse({"sid": sid, "status": "queued", "to": form["To"]}, status_code=201)

    def _later(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _receipts(self, url: str, sid: str, form: dict[str, str]) -> None:
        for status in ("sent", "delivered"):
            await self.post(url, {"MessageSid": sid, "MessageStatus": status,
                                  "AccountSid": self.account_sid, "To": form["To"]})

    async def post(self, url: str, params: dict[str, str], *, token: str | None = None
                   ) -> httpx.Response:
        """A webhook to the CRM, signed as the provider signs it (with ``token`` if given)."""
        signature = twilio_signature(token or self.auth_token, url, list(params.items()))
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(
                url, content=urlencode(params),
                headers={"X-Twilio-Signature": signature,
                         "Content-Type": "application/x-www-form-urlencoded"},
            )
        self.callbacks.append((url, response.status_code))
        return response

    async def settle(self) -> None:
        """Wait for the webhooks it is still sending."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def generic_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The generic provider's published scheme: HMAC-SHA256 of "<timestamp>.<body>"."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass
class GenericPlatform:
    """A chat/social bridge speaking the generic JSON webhook: records what it is sent."""

    secret: str = field(default_factory=lambda: uuid.uuid4().hex * 2)
    received: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    url: str = ""

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        stamp = request.headers.get("x-crm-timestamp", "")
        expected = generic_signature(self.secret, stamp, body)
        if not hmac.compare_digest(request.headers.get("x-crm-signature", ""), expected):
            self.bad_signatures += 1
            return JSONResponse({"error": "bad signature"}, status_code=403)
        import orjson

        self.received.append(orjson.loads(body))
        return JSONResponse({"id": "g-" + uuid.uuid4().hex})

    async def post(self, url: str, payload: dict[str, Any], *, secret: str | None = None
                   ) -> httpx.Response:
        """A signed inbound webhook to the CRM."""
        import time

        import orjson

        body = orjson.dumps(payload)
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-CRM-Timestamp": stamp,
                   "X-CRM-Signature": generic_signature(secret or self.secret, stamp, body)}
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, content=body, headers=headers)


@asynccontextmanager
async def generic_platform() -> AsyncIterator[GenericPlatform]:
    """A running generic platform; ``.url`` takes the CRM's messages."""
    state = GenericPlatform()
    app = Starlette(routes=[Route("/messages", state.receive, methods=["POST"])])
    async with serve_app(app) as url:
        state.url = f"{url}/messages"
        yield state


@asynccontextmanager
async def serve_app(app: Any, **config: Any) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a free loopback port (this event loop); yields its URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off",
                                           log_level="warning", timeout_graceful_shutdown=1,
                                           **config))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def standin() -> AsyncIterator[StandIn]:
    """A running stand-in provider; ``.url`` is its base URL."""
    state = StandIn()
    app = Starlette(routes=[Route("/2010-04-01/Accounts/{sid}/{kind:str}.json", state.create,
                                  methods=["POST"])])
    async with serve_app(app) as url:
        state.url = url
        try:
            yield state
        finally:
            await state.settle()
