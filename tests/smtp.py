"""A real SMTP server for tests: aiosmtpd on loopback, in the test's event loop.

``smtp_sink()`` records every accepted message and can be told to refuse recipients (e.g. with a
5xx) or answer the next DATA commands with given replies (e.g. a 451). ``silent_server()``
accepts connections and never answers, like a server that hangs before its greeting.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.smtp import SMTP


@dataclass
class Received:
    """One message the sink accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Sink:
    """The aiosmtpd handler: what arrived, and how to answer."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)
    connections: int = 0
    data_delay: float = 0.0  # seconds every DATA takes before its reply (a slow server)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_replies:
            self._changed.set()
            return self.data_replies.pop(0)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      bytes(envelope.content)))
        self._changed.set()
        return "250 2.0.0 Message accepted for delivery"

    async def wait_until(self, condition: Callable[[], bool], seconds: float = 20) -> None:
        """Wait (poll on every server event, bounded) until ``condition()`` holds."""
        async with asyncio.timeout(seconds):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def wait_for(self, count: int, seconds: float = 20) -> list[Received]:
        """Wait until at least ``count`` messages arrived."""
        await self.wait_until(lambda: len(self.received) >= count, seconds)
        return self.received

    def ids(self) -> list[str]:
        return [r.message_id for r in self.received]


@asynccontextmanager
async def smtp_sink(
    port: int = 0, *, tls_context: ssl.SSLContext | None = None, sink: Sink | None = None,
    **smtp_options: Any,
) -> AsyncIterator[Sink]:
    """An SMTP server on 127.0.0.1 (a free port unless one is given) for the block's duration."""
    handler = sink or Sink()
    loop = asyncio.get_running_loop()
    sessions: list[SMTP] = []

    def protocol() -> SMTP:
        handler.connections += 1
        sessions.append(SMTP(handler, hostname="localhost", tls_context=tls_context, loop=loop,
                             **smtp_options))
        return sessions[-1]

    server = await loop.create_server(protocol, "127.0.0.1", port)
    handler.port = server.sockets[0].getsockname()[1]
    try:
        yield handler
    finally:
        server.close()
        for session in sessions:  # a stopped server drops its clients too
            if session.transport is not None:
                session.transport.close()
        await server.wait_closed()


class _Silent(asyncio.Protocol):
    def __init__(self, connected: asyncio.Event) -> None:
        self.connected = connected

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.connected.set()


@asynccontextmanager
async def silent_server() -> AsyncIterator[tuple[int, asyncio.Event]]:
    """A server that accepts connections and never says a word; (port, connected event)."""
    connected = asyncio.Event()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Silent(connected), "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], connected
    finally:
        server.close()
        await server.wait_closed()
