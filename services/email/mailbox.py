"""A local mailbox for development: an SMTP server that keeps what it is sent, as files.

``crm serve`` with the embedded demo database and no SMTP server configured points email at
this catcher, so a newcomer's first ``sendEmail`` goes through the real outbox, worker and SMTP
exchange and can be read at ``/dev/mailbox``. Each message is one ``.eml`` file in
``<data dir>/mailbox`` (every server process of a ``--workers`` run shares the port and the
folder).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from core.config import Settings

log = logging.getLogger("crm.email")
KEEP = 500  # the newest messages kept; older files are removed as new ones arrive
_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{32}\.eml$")


def folder(settings: Settings) -> Path:
    """Where caught messages are kept."""
    return settings.data_dir / "mailbox"


class _Keeper:
    """aiosmtpd handler: every accepted message becomes a file."""

    def __init__(self, where: Path) -> None:
        self.where = where

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.where / f"{stamp}-{uuid.uuid4().hex}.eml"
        content = envelope.original_content or envelope.content
        await asyncio.to_thread(path.write_bytes, content)
        await asyncio.to_thread(_prune, self.where)
        return "250 Message accepted for delivery"


def _prune(where: Path) -> None:
    names = sorted(p.name for p in where.glob("*.eml"))
    for name in names[:-KEEP]:
        (where / name).unlink(missing_ok=True)


@asynccontextmanager
async def service(app: Any, settings: Settings) -> AsyncIterator[None]:
    """App service: the catcher on ``CRM_DEV_MAILBOX_PORT`` (off unless it is set)."""
    port = settings.dev_mailbox_port
    if port is None:
        yield
        return
    from aiosmtpd.smtp import SMTP  # a development tool: loaded only when it is on

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP line
    where = folder(settings)
    where.mkdir(parents=True, exist_ok=True)
    keeper = _Keeper(where)
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(keeper, hostname="crm-dev-mailbox"), "127.0.0.1", port, reuse_port=True,
    )
    log.info("development mailbox listening on 127.0.0.1:%s (messages in %s)", port, where)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


@dataclass(frozen=True)
class Caught:
    """One message in the mailbox."""

    name: str
    received_at: datetime
    sender: str
    to: str
    subject: str
    text: str | None
    html: str | None


def _read(path: Path) -> Caught:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(("plain",))
    rich = message.get_body(("html",))
    received = datetime.strptime(path.name[:23], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    return Caught(
        name=path.name, received_at=received, sender=str(message.get("From", "")),
        to=str(message.get("To", "")), subject=str(message.get("Subject", "")),
        text=_lines(text.get_content()) if text is not None else None,
        html=_lines(rich.get_content()) if rich is not None else None,
    )


def _lines(content: str) -> str:
    return content.replace("\r\n", "\n")  # as sent over SMTP: CRLF line ends


def latest(settings: Settings, limit: int = 100) -> list[Caught]:
    """The newest caught messages, newest first."""
    where = folder(settings)
    if not where.is_dir():
        return []
    names = sorted((p.name for p in where.glob("*.eml") if _NAME.match(p.name)), reverse=True)
    return [_read(where / name) for name in names[:limit]]


def one(settings: Settings, name: str) -> Caught | None:
    """A caught message by its file name (nothing outside the folder can be named)."""
    path = folder(settings) / name
    if not _NAME.match(name) or not path.is_file():
        return None
    return _read(path)
