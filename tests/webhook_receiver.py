"""A real HTTP receiver on loopback for webhook tests: records requests, answers as scripted.

A small HTTP/1.1 server on ``asyncio.start_server`` (keep-alive included), so tests control
exactly what the endpoint does: statuses, ``Retry-After``, slow answers, endless bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from dataclasses import dataclass, field

import orjson

from services.webhooks import signature as webhook_signature


@dataclass
class Reply:
    """What the receiver answers to one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds before answering
    endless: bool = False  # stream a body that never ends


@dataclass
class Received:
    """One request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    verified: bool

    def json(self) -> dict:  # type: ignore[type-arg]
        return orjson.loads(self.body)  # type: ignore[no-any-return]


class Receiver:
    """``async with Receiver(secret) as r``: ``r.url`` takes deliveries, ``r.requests`` has them."""

    def __init__(self, secret: str | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.secret = secret
        self.tls = tls
        self.requests: list[Received] = []
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self._arrived = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, then with ``default``."""
        self.replies.extend(replies)

    async def wait_for(self, count: int, within: float = 10.0) -> list[Received]:
        """Wait until ``count`` requests have arrived."""
        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)
        return self.requests

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for handler in list(self._handlers):  # idle keep-alive connections end here
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the receiver is closing
        finally:
            writer.close()
            self._handlers.discard(task)

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        line = await reader.readline()
        if not line:
            return False
        method, path, _ = line.decode().split(" ", 2)
        headers: dict[str, str] = {}
        while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        verified = False
        if self.secret is not None:
            try:
                webhook_signature.verify(self.secret, headers, body)
                verified = True
            except webhook_signature.VerificationError:
                verified = False
        reply = self.replies.popleft() if self.replies else self.default
        async with self._arrived:
            self.requests.append(Received(method, path, headers, body, time.time(), verified))
            self._arrived.notify_all()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
        if reply.endless:
            writer.write(f"HTTP/1.1 {reply.status} X\r\n{extra}Transfer-Encoding: chunked\r\n\r\n"
                         .encode())
            chunk = b"x" * 16384
            for _ in range(10_000):  # 160 MiB if anyone read it all
                writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                await writer.drain()
            return False
        writer.write(f"HTTP/1.1 {reply.status} X\r\n{extra}Content-Length: {len(reply.body)}"
                     f"\r\n\r\n".encode() + reply.body)
        await writer.drain()
        return True


# helpers shared by the webhook tests

ALL_TYPES = ("customer.created", "customer.updated", "customer.deleted", "customer.merged",
             "interaction.created", "order.created", "order.updated", "email.status_changed",
             "prediction.changed")
SECRET = "whsec_test_" + "k" * 32


async def make_webhook(org_id: int, url: str = "https://93.184.216.34/hook",
                       types: tuple[str, ...] = ALL_TYPES, secret: str = SECRET) -> int:
    """A webhook of the organization (written directly, no URL check); its id."""
    from db import webhook as webhooks

    row = await webhooks.create(org_id=org_id, user_id=None, url=url, event_types=types,
                                secret=secret, description="test")
    return int(row["id"])


async def logged(org_id: int) -> list[dict]:  # type: ignore[type-arg]
    """The organization's logged events in sequence order."""
    from db.sql import fetch

    return await fetch("SELECT * FROM webhook_event WHERE organization_id = $1 ORDER BY sequence",
                       [org_id])


async def deliveries_of(webhook_id: int) -> list[dict]:  # type: ignore[type-arg]
    """A webhook's deliveries in creation order, with their event's sequence."""
    from db.sql import fetch

    return await fetch(
        "SELECT d.*, e.sequence, e.type FROM webhook_delivery d"
        " JOIN webhook_event e ON e.id = d.event_id WHERE d.webhook_id = $1 ORDER BY d.id",
        [webhook_id],
    )


async def make_due(webhook_id: int) -> None:
    """Bring the webhook's waiting deliveries (and a half-open probe) forward to now."""
    from db.sql import fetch

    await fetch("UPDATE webhook_delivery SET next_attempt_at = now() WHERE webhook_id = $1"
                " AND status IN ('PENDING', 'SENDING')", [webhook_id])
    await fetch("UPDATE webhook SET circuit_open_until = now() WHERE id = $1"
                " AND circuit_open_until IS NOT NULL", [webhook_id])
