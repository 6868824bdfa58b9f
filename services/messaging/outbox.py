"""The channel outbox worker: claims due messages per provider, sends them, records outcomes.

Run it with ``crm worker`` (beside the email worker) or in the API process with
``CRM_CHANNEL_WORKER_IN_PROCESS=true``. Delivery is at-least-once, as for email: a message is
marked SENT only after the provider accepted it; one whose worker died is sent again (with the
same reference, which Twilio-compatible APIs take as an idempotency token) once its lease ran
out. Timeouts, 429 and 5xx answers are retried with exponential backoff and jitter; other 4xx
answers fail the message at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx

from core import background
from core.config import Settings
from db import channel_message as messages
from db import message_provider as providers
from db.channel_enums import MessageStatus, ProviderKind
from services.messaging import credentials
from services.messaging.factory import build
from services.messaging.lease import Leases
from services.messaging.provider import (
    Outgoing,
    Provider,
    ProviderConfig,
    ProviderError,
)

log = logging.getLogger("crm.channels")
WORKER_APPLICATION = "crm-channel-worker"


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """The delay before attempt ``attempts + 1``: exponential, capped, with equal jitter."""
    ceiling: float = min(
        settings.channel_retry_max_seconds,
        settings.channel_retry_base_seconds * 2.0 ** min(attempts - 1, 30),
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def status_callback(settings: Settings, provider: dict[str, Any], message_id: int) -> str:
    """The URL the provider reports this message's delivery to."""
    base = settings.public_base_url.rstrip("/")
    kind = "twilio/status" if provider["kind"] == ProviderKind.TWILIO else "webhook"
    return f"{base}/inbound/channels/{provider['inbound_key']}/{kind}?ref={message_id}"


class Worker:
    """Sender loops sharing one HTTP client, a lease heartbeat and a wake-up listener."""

    def __init__(
        self, settings: Settings, *, database_url: str | None = None,
        org_ids: Sequence[int] | None = None, transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.database_url = database_url
        self.org_ids = list(org_ids) if org_ids is not None else None
        self.transport = transport
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leases = Leases(self.name, settings.channel_lease_seconds)
        self.stopping = asyncio.Event()
        self.listening = asyncio.Event()
        self._wakes: list[asyncio.Event] = []
        self.sent = 0

    async def run(self) -> None:
        """Work until ``stop()``; claimed but unsent messages are given back on the way out."""
        timeout = httpx.Timeout(self.settings.channel_http_timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout, transport=self.transport) as http:
            tasks = [asyncio.create_task(self._send_loop(http))
                     for _ in range(self.settings.channel_worker_concurrency)]
            heartbeat = asyncio.create_task(self.leases.heartbeat())
            async with background.listening(
                self.database_url, messages.OUTBOX_CHANNEL, self.wake, self.listening,
                application_name=WORKER_APPLICATION,
            ):
                try:
                    await asyncio.gather(*tasks)
                finally:
                    for task in [*tasks, heartbeat]:
                        task.cancel()
                    await asyncio.gather(*tasks, heartbeat, return_exceptions=True)

    def stop(self) -> None:
        """Finish the message in hand, then stop."""
        self.stopping.set()
        self.wake()

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        for event in self._wakes:
            event.set()

    async def _send_loop(self, http: httpx.AsyncClient) -> None:
        wake = asyncio.Event()
        self._wakes.append(wake)
        while not self.stopping.is_set():
            try:
                handled = await self.send_due(http)
            except Exception:
                log.exception("channel outbox pass failed; retrying after the poll interval")
                handled = 0
            if not handled:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.settings.channel_poll_seconds)
                wake.clear()

    async def send_due(self, http: httpx.AsyncClient) -> int:
        """One pass over the providers with due messages, a batch each; how many were handled."""
        provider_ids = await messages.providers_with_due(self.org_ids)
        random.shuffle(provider_ids)
        configs = await providers.get_with_credentials(provider_ids)
        handled = 0
        for provider_id in provider_ids:
            row = configs.get(provider_id)
            if self.stopping.is_set() or row is None:
                break
            handled += await self._send_batch(http, row)
        return handled

    async def _send_batch(self, http: httpx.AsyncClient, row: dict[str, Any]) -> int:
        since = self.leases.now()
        batch = await messages.claim(
            provider_id=row["id"], limit=self.settings.channel_batch_size, worker=self.name,
            lease_seconds=self.settings.channel_lease_seconds,
            rate=messages.RateLimit(row["rate_per_second"], row["rate_burst"]),
        )
        self.leases.hold((item.id for item in batch), since)
        try:
            provider = build(self._config(row), http)
            for position, item in enumerate(batch):
                if self.stopping.is_set():
                    for rest in batch[position:]:
                        await self._set(rest, MessageStatus.QUEUED, retry_in=0,
                                        refund_attempt=True)
                    return position
                await self.deliver(provider, row, item)
        finally:
            for item in batch:
                self.leases.release(item.id)
        return len(batch)

    def _config(self, row: dict[str, Any]) -> ProviderConfig:
        return ProviderConfig(
            id=row["id"], kind=ProviderKind(row["kind"]), base_url=row["base_url"],
            account_id=row["account_id"], sender=row["sender"],
            credentials=credentials.unseal(self.settings, row["credentials"]),
        )

    async def _set(self, item: messages.Claimed, status: MessageStatus, **change: Any) -> None:
        """Record an outcome while the lease is still ours (never over another's claim)."""
        if await messages.set_status(item.id, status, holder=self.name, **change) is None:
            log.warning("message %s was no longer leased to this worker (wanted %s)",
                        item.id, status.value)

    async def deliver(
        self, provider: Provider, row: dict[str, Any], item: messages.Claimed
    ) -> None:
        """Send one claimed message and record what happened."""
        s = self.settings
        if item.opted_out:
            await self._set(item, MessageStatus.FAILED,
                            error="the recipient opted out of this channel before delivery")
            return
        if item.attempts > s.channel_max_attempts:
            await self._set(item, MessageStatus.FAILED, error=(
                f"gave up after {item.attempts - 1} attempts (the last worker's lease expired)"))
            return
        if self.leases.remaining(item.id) < self.leases.renew_every:
            await self._set(item, MessageStatus.QUEUED, retry_in=0, refund_attempt=True)
            return
        outgoing = Outgoing(
            reference=f"crm-{item.id}", channel=item.channel, recipient=item.recipient,
            sender=row["sender"], text=item.body,
            status_callback=status_callback(s, row, item.id),
        )
        try:
            async with self.leases.guard(item.id):
                accepted = await provider.send(outgoing)
        except ProviderError as exc:
            await self._failed(item, exc)
            return
        except TimeoutError:
            await self._failed(item, ProviderError(
                "cut off before the worker's lease could run out", permanent=False))
            return
        self.sent += 1
        if await messages.set_status(item.id, MessageStatus.SENT, holder=self.name,
                                     provider_message_id=accepted.provider_message_id) is None:
            # a delivery receipt overtook us: it recorded the provider's id already
            log.info("message %s was sent and reported meanwhile", item.id)

    async def _failed(self, item: messages.Claimed, exc: ProviderError) -> None:
        if exc.permanent or item.attempts >= self.settings.channel_max_attempts:
            log.info("message %s failed for good: %s", item.id, exc.message)
            await self._set(item, MessageStatus.FAILED, error=exc.message)
            return
        delay = backoff_seconds(self.settings, item.attempts)
        log.info("message %s attempt %s failed (%s); next in %.1fs",
                 item.id, item.attempts, exc.message, delay)
        await self._set(item, MessageStatus.QUEUED, error=exc.message, retry_in=delay)


@asynccontextmanager
async def service(app: Any, settings: Settings) -> AsyncIterator[None]:
    """The worker inside the API process, when ``CRM_CHANNEL_WORKER_IN_PROCESS`` is on."""
    if not settings.channel_worker_in_process:
        yield
        return
    worker = Worker(settings, database_url=app.state.database_url)
    async with background.running(
        worker, "channel-outbox-worker", settings.shutdown_timeout_seconds
    ):
        yield


async def alongside(
    settings: Settings, database_url: str, org_slugs: Sequence[str], work: Awaitable[int]
) -> int:
    """Send channel messages while ``work`` (the email worker of ``crm worker``) runs."""
    from db import user as users

    org_ids: list[int] | None = None
    if org_slugs:
        found = [await users.get_organization(slug) for slug in org_slugs]
        org_ids = [org.id for org in found if org is not None]
    worker = Worker(settings, database_url=database_url, org_ids=org_ids)
    task = asyncio.create_task(worker.run(), name="channel-outbox-worker")
    log.info("channel worker %s started (%s senders)", worker.name,
             settings.channel_worker_concurrency)
    try:
        return await work
    finally:
        worker.stop()
        await task
        log.info("channel worker %s stopped", worker.name)
