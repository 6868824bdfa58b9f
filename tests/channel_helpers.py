"""Helpers for messaging tests: the CRM served over real HTTP, providers, workers, waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from core.config import Settings
from db.sql import fetch, fetch_one
from services.messaging.outbox import Worker
from tests.email_helpers import wait_until
from tests.factories import Api
from tests.twilio_standin import GenericPlatform, StandIn, serve_app

TWILIO_NUMBER = "+15005550006"
PROVIDER_FIELDS = "id name kind channels sender inboundUrls"


def channel_settings(base: Settings, public_base_url: str, **overrides: Any) -> Settings:
    """Fast retries and polls, a short HTTP timeout, links pointing at the served CRM."""
    values: dict[str, Any] = {
        "public_base_url": public_base_url, "channel_retry_base_seconds": 0.05,
        "channel_retry_max_seconds": 0.2, "channel_poll_seconds": 0.05,
        "channel_lease_seconds": 30.0, "channel_http_timeout_seconds": 3.0,
        "channel_max_attempts": 4, "channel_worker_concurrency": 2,
    }
    return base.model_copy(update=values | overrides)


@dataclass
class Crm:
    """The CRM app served by uvicorn: ``url`` for webhooks, ``settings`` its settings."""

    url: str
    settings: Settings
    broker: Any = None

    async def subscribed(self, org_id: int) -> None:
        """Wait until a subscription of the organization is registered."""
        async def registered() -> bool:
            return bool(self.broker.subscriber_count(org_id))

        await wait_until(registered)

    def inbound(self, provider: dict[str, Any], path: str) -> str:
        """The provider's inbound URL ``path`` (twilio/message ...) on this server."""
        key = provider["inboundUrls"][0].split("/inbound/channels/")[1].split("/")[0]
        return f"{self.url}/inbound/channels/{key}/{path}"


@asynccontextmanager
async def served_crm(db: str, settings: Settings) -> AsyncIterator[Crm]:
    """A second app on the test database, served over HTTP for the providers' webhooks."""
    import asyncpg

    from app.main import create_app
    from core import database
    from services.live.pubsub import Broker

    app = create_app(settings, db)
    params = database.connection_params(db)
    broker = Broker(lambda: asyncpg.connect(**params), queue_size=100)
    await broker.start()
    app.state.pubsub = broker  # interactionCreated over websockets, as crm serve streams it
    try:
        async with serve_app(app, ws="websockets-sansio") as url:
            app.state.settings = channel_settings(settings, url)
            yield Crm(url, app.state.settings, broker)
    finally:
        await broker.stop()


async def connect_twilio(api: Api, standin: StandIn, **fields: Any) -> dict[str, Any]:
    """Connect the stand-in as the organization's Twilio-compatible provider (GraphQL)."""
    values: dict[str, Any] = {
        "name": "Twilio", "kind": "TWILIO", "channels": ["SMS", "WHATSAPP", "PHONE"],
        "sender": TWILIO_NUMBER, "secret": standin.auth_token, "baseUrl": standin.url,
        "accountId": standin.account_sid, "ratePerSecond": 1000.0, "rateBurst": 1000,
    }
    data = await api.data(
        f"""mutation($input: CreateMessageProviderInput!) {{ createMessageProvider(input:
        $input) {{ provider {{ {PROVIDER_FIELDS} }} errors {{ code field message }} }} }}""",
        input=values | fields,
    )
    payload = data["createMessageProvider"]
    assert payload["errors"] == [], payload
    return payload["provider"]  # type: ignore[no-any-return]


async def connect_generic(api: Api, platform: GenericPlatform, **fields: Any) -> dict[str, Any]:
    """Connect a generic platform for CHAT and SOCIAL (GraphQL)."""
    values: dict[str, Any] = {
        "name": "Social", "kind": "WEBHOOK", "channels": ["CHAT", "SOCIAL"], "sender": "shop",
        "secret": platform.secret, "baseUrl": platform.url,
    }
    data = await api.data(
        f"""mutation($input: CreateMessageProviderInput!) {{ createMessageProvider(input:
        $input) {{ provider {{ {PROVIDER_FIELDS} }} errors {{ code field message }} }} }}""",
        input=values | fields,
    )
    payload = data["createMessageProvider"]
    assert payload["errors"] == [], payload
    return payload["provider"]  # type: ignore[no-any-return]


SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
    interaction { id channel direction body }
    message { status recipient encoding segments providerMessageId notBefore }
    errors { code field message } } }"""


async def send(api: Api, customer_id: str, channel: str = "SMS", **fields: Any
               ) -> dict[str, Any]:
    """``sendMessage`` through GraphQL; its payload."""
    data = await api.data(SEND, input={"customerId": customer_id, "channel": channel} | fields)
    return data["sendMessage"]  # type: ignore[no-any-return]


async def message_row(interaction_id: int) -> dict[str, Any]:
    """The outbox row of an outbound interaction."""
    row = await fetch_one("SELECT * FROM channel_message WHERE interaction_id = $1",
                          [interaction_id])
    assert row is not None
    return row


async def wait_message(interaction_id: int, *statuses: str, seconds: float = 20
                       ) -> dict[str, Any]:
    """The outbox row once its status is one of ``statuses``."""
    async def check() -> dict[str, Any] | None:
        row = await message_row(interaction_id)
        return row if row["status"] in statuses else None

    result: dict[str, Any] = await wait_until(check, seconds)
    return result


async def interactions_of(customer_id: int) -> list[dict[str, Any]]:
    """The customer's interactions, oldest first."""
    return await fetch("SELECT * FROM interaction WHERE customer_id = $1 ORDER BY id",
                       [customer_id])


@asynccontextmanager
async def running_worker(settings: Settings, org_ids: Sequence[int]) -> AsyncIterator[Worker]:
    """A channel worker for these organizations for the block's duration."""
    worker = Worker(settings, org_ids=org_ids)
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, timeout=30)
