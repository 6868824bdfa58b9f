"""The webhook delivery service: claims due deliveries, POSTs them signed, records outcomes.

Run it with ``crm worker`` (any number, on any machines) or in the API process with
``CRM_WEBHOOK_WORKER_IN_PROCESS=true``. Delivery is at-least-once: a delivery is DELIVERED only
after a 2xx, and one whose worker died is sent again (same ``Crm-Webhook-Id``) once its lease
has run out. Network errors, timeouts, 408, 429 and 5xx are retried with exponential backoff
and full jitter (``Retry-After`` wins when given); other statuses fail the delivery at once.
No transaction is open while a request is in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from core import background
from core.config import Settings
from db import webhook_delivery as deliveries
from db import webhook_event as events
from schema.node import to_global_id
from services.webhooks import signature
from services.webhooks.http import Client, Response, UnsafeURL

log = logging.getLogger("crm.webhooks")
USER_AGENT = "CRM-Webhooks/1"
RETRIED_STATUSES = frozenset({408, 429})
PRUNE_INTERVAL_SECONDS = 3600.0


def backoff_seconds(settings: Settings, attempt: int) -> float:
    """The delay after failed attempt ``attempt``: exponential, capped, full jitter."""
    ceiling = min(settings.webhook_retry_max_seconds,
                  settings.webhook_retry_base_seconds * 2.0 ** min(attempt - 1, 30))
    return random.uniform(0, ceiling)


def retry_after_seconds(value: str | None, cap: float) -> float | None:
    """``Retry-After`` (seconds or an HTTP date) as seconds from now, at most ``cap``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - datetime.now(UTC)).total_seconds()), cap)


def body_of(event: dict[str, Any]) -> bytes:
    """The JSON body of an event (the same bytes on every attempt and replay)."""
    return orjson.dumps({
        "id": to_global_id("WebhookEvent", event["event_id"]),
        "sequence": event["sequence"],
        "type": event["type"],
        "occurredAt": event["occurred_at"],
        "organizationId": to_global_id("Organization", event["organization_id"]),
        "actor": event["actor"],
        "requestId": event["request_id"],
        "object": {"type": event["object_type"], "id": event["object_id"]},
        "data": event["data"],
    }, option=orjson.OPT_UTC_Z)


def headers_of(item: deliveries.Claimed, body: bytes, now: float | None = None) -> dict[str, str]:
    """The signed headers of one attempt."""
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signature.ID_HEADER: to_global_id("WebhookEvent", item.event["event_id"]),
        signature.TIMESTAMP_HEADER: str(timestamp),
        signature.SIGNATURE_HEADER: signature.signature_header(item.secrets, timestamp, body),
    }


class Worker:
    """One claim loop feeding at most ``CRM_WEBHOOK_CONCURRENCY`` requests in flight."""

    def __init__(
        self, settings: Settings, *, database_url: str | None = None,
        org_ids: Sequence[int] | None = None,
    ) -> None:
        self.settings = settings
        self.database_url = database_url
        self.org_ids = list(org_ids) if org_ids is not None else None
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.client = Client(settings)
        self.breaker = deliveries.Breaker(
            failures=settings.webhook_circuit_failures,
            cooldown_seconds=settings.webhook_circuit_cooldown_seconds,
            max_cooldown_seconds=settings.webhook_circuit_max_cooldown_seconds,
            disable_after_failures=settings.webhook_disable_after_failures,
            disable_after_seconds=settings.webhook_disable_after_seconds,
        )
        self.stopping = asyncio.Event()
        self.listening = asyncio.Event()
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._pruned_at = 0.0

    def stop(self) -> None:
        """Finish the requests in flight, then stop."""
        self.stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Work until ``stop()``."""
        async with background.listening(
            self.database_url, events.CHANNEL, self._wake.set, self.listening
        ):
            try:
                while not self.stopping.is_set():
                    try:
                        started = await self.claim_and_start()
                        await self._prune_now_and_then()
                    except Exception:
                        log.exception("webhook pass failed; retrying after the poll interval")
                        started = 0
                    if not started:
                        await self._idle()
            finally:
                await asyncio.gather(*self._in_flight, return_exceptions=True)
                await self.client.close()

    async def close(self) -> None:
        """Close pooled connections (``run`` does it on its way out)."""
        await self.client.close()

    async def run_once(self) -> int:
        """Claim what is due now and deliver it all; how many were handled (tests, benches)."""
        started = await self.claim_and_start()
        await asyncio.gather(*list(self._in_flight))
        return started

    async def claim_and_start(self) -> int:
        """Claim as many due deliveries as there are free slots and start sending them."""
        concurrency = self.settings.webhook_concurrency
        free = concurrency - len(self._in_flight)
        if free <= 0 or (self._in_flight and free < concurrency // 2):
            return 0  # claim in batches, not one transaction per finished request
        claimed = await deliveries.claim(
            limit=free, lease_seconds=self.settings.webhook_lease_seconds, worker=self.name,
            org_ids=self.org_ids,
        )
        for item in claimed:
            task = asyncio.create_task(self.deliver(item))
            self._in_flight.add(task)
            task.add_done_callback(self._done)
        return len(claimed)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook delivery crashed", exc_info=task.exception())
        self._wake.set()  # a slot is free

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_seconds)
        self._wake.clear()

    async def _prune_now_and_then(self) -> None:
        if time.monotonic() - self._pruned_at < PRUNE_INTERVAL_SECONDS:
            return
        self._pruned_at = time.monotonic()
        gone = await events.prune(timedelta(seconds=self.settings.webhook_event_retention_seconds))
        if gone:
            log.info("pruned %s webhook events past retention", gone)

    async def deliver(self, item: deliveries.Claimed) -> None:
        """Send one claimed delivery and record what happened."""
        s = self.settings
        if item.attempt > s.webhook_max_attempts:
            await self._failed(item, None, None, "gave up: the last worker's lease expired",
                               retry=False)
            return
        body = body_of(item.event)
        started = time.monotonic()
        try:
            response = await self.client.post(item.url, body, headers_of(item, body))
        except UnsafeURL as exc:
            await self._failed(item, None, None, f"refused: {exc}", retry=False)
            return
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            elapsed = int((time.monotonic() - started) * 1000)
            await self._failed(item, None, elapsed, _describe(exc), retry=True)
            return
        await self._outcome(item, response)

    async def _outcome(self, item: deliveries.Claimed, response: Response) -> None:
        status = response.status
        if 200 <= status < 300:
            await deliveries.delivered(item, worker=self.name, http_status=status,
                                       duration_ms=response.duration_ms)
            return
        text = response.body.decode("utf-8", "replace")
        error = f"HTTP {status}: {text}" if text else f"HTTP {status}"
        retry = status in RETRIED_STATUSES or status >= 500
        wait = retry_after_seconds(response.headers.get("retry-after"),
                                   self.settings.webhook_retry_after_max_seconds)
        await self._failed(item, status, response.duration_ms, error, retry=retry, wait=wait)

    async def _failed(
        self, item: deliveries.Claimed, status: int | None, duration_ms: int | None, error: str,
        *, retry: bool, wait: float | None = None,
    ) -> None:
        retry_in = None
        if retry and item.attempt < self.settings.webhook_max_attempts:
            retry_in = wait if wait is not None else backoff_seconds(self.settings, item.attempt)
        log.info("webhook delivery %s attempt %s failed (%s)%s", item.id, item.attempt,
                 error[:200], "" if retry_in is None else f"; next in {retry_in:.1f}s")
        await deliveries.failed(item, worker=self.name, http_status=status,
                                duration_ms=duration_ms, error=error, retry_in=retry_in,
                                breaker=self.breaker)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"timeout: {type(exc).__name__}"
    return f"{type(exc).__name__}: {exc}"[:1000]


@asynccontextmanager
async def service(app: Any, settings: Settings) -> AsyncIterator[None]:
    """The worker inside the API process, when ``CRM_WEBHOOK_WORKER_IN_PROCESS`` is on."""
    if not settings.webhook_worker_in_process:
        yield
        return
    worker = Worker(settings, database_url=app.state.database_url)
    async with background.running(
        worker, "webhook-delivery-worker", settings.webhook_total_timeout_seconds + 5
    ):
        yield


async def alongside(settings: Settings, database_url: str, work: Awaitable[int]) -> int:
    """Deliver webhooks while ``work`` (the email worker of ``crm worker``) runs; stop with it."""
    worker = Worker(settings, database_url=database_url)
    task = asyncio.create_task(worker.run(), name="webhook-delivery-worker")
    log.info("webhook worker %s started (%s in flight at most)", worker.name,
             settings.webhook_concurrency)
    try:
        return await work
    finally:
        worker.stop()
        await task
        log.info("webhook worker %s stopped", worker.name)
