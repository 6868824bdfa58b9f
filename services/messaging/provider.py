"""The one small interface every messaging provider implements, and the factory by kind.

A provider sends one message (``send``) and tells whether a webhook it posted is genuine
(``verify``). Outcomes the outbox understands: ``Accepted`` with the provider's message id, or
``ProviderError`` saying whether trying again could help.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from db.channel_enums import ProviderKind
from db.enums import Channel


@dataclass(frozen=True)
class Outgoing:
    """One message to send: ``reference`` is our id, repeated on a retry of the same message."""

    reference: str
    channel: Channel
    recipient: str
    sender: str
    text: str
    status_callback: str


@dataclass(frozen=True)
class Accepted:
    """The provider took the message; its id names it in delivery receipts."""

    provider_message_id: str


def client_of(http: httpx.AsyncClient | None) -> httpx.AsyncClient:
    """The HTTP client a provider was built with for sending."""
    if http is None:
        raise RuntimeError("this provider was built to verify webhooks, not to send")
    return http


class ProviderError(Exception):
    """A send that did not succeed; ``permanent``: retrying the same request cannot help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class SignedRequest:
    """What a provider's webhook carried, as received."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    form: Sequence[tuple[str, str]]


class Provider(Protocol):
    """Sends messages and verifies webhooks for one configured provider."""

    async def send(self, message: Outgoing) -> Accepted: ...

    def verify(self, request: SignedRequest) -> bool: ...


@dataclass(frozen=True)
class ProviderConfig:
    """A stored provider with its credentials opened."""

    id: int
    kind: ProviderKind
    base_url: str
    account_id: str
    sender: str
    credentials: dict[str, Any]


def error_of(response: httpx.Response) -> ProviderError:
    """The failure an HTTP answer means: 429 and 5xx may pass, other 4xx will not."""
    detail = response.text[:300]
    try:
        data = response.json()
        if isinstance(data, dict) and data.get("message"):
            detail = f"{data.get('code', response.status_code)}: {data['message']}"[:300]
    except ValueError:
        pass
    transient = response.status_code == 429 or response.status_code >= 500
    return ProviderError(f"HTTP {response.status_code} {detail}".strip(), permanent=not transient)

