"""The outbox worker: claims due emails, sends them over SMTP, records the outcome.

Run it with ``crm worker`` (any number, on any machines) or in the API process with
``CRM_EMAIL_WORKER_IN_PROCESS=true``. Delivery is at-least-once: an email is marked SENT only
after the SMTP server accepted it, and one whose worker died is sent again (same Message-ID)
once its short lease has run out (a live worker keeps renewing its leases and never sends past
them: ``outbox_lease``). Transient failures are retried with exponential backoff and jitter;
5xx replies fail the email at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from core import background
from core.config import Settings
from db import email as emails
from db import outbox
from db.email_enums import EmailStatus
from services.email import campaigns, reminders
from services.email.mailer import DeliveryError, Mailer
from services.email.outbox_lease import Leases

log = logging.getLogger("crm.outbox")


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """The delay before attempt ``attempts + 1``: exponential, capped, with equal jitter."""
    ceiling: float = min(
        settings.email_retry_max_seconds,
        settings.email_retry_base_seconds * 2.0 ** min(attempts - 1, 30),
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class Worker:
    """Sender loops (one SMTP connection each), a campaign loop and a wake-up listener."""

    def __init__(
        self, settings: Settings, *, database_url: str | None = None,
        org_ids: Sequence[int] | None = None, mailer_factory: Any = None,
    ) -> None:
        self.settings = settings
        self.database_url = database_url
        self.org_ids = list(org_ids) if org_ids is not None else None
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.mailer_factory = mailer_factory or (lambda: Mailer(settings))
        self.rate = outbox.RateLimit(settings.email_rate_per_second, settings.email_rate_burst)
        self.leases = Leases(self.name, settings.email_lease_seconds)
        self.stopping = asyncio.Event()
        self.listening = asyncio.Event()  # set once new email wakes the loops at once
        self._wakes: list[asyncio.Event] = []

    async def run(self) -> None:
        """Work until ``stop()``; claimed but unsent emails are given back on the way out."""
        tasks = [asyncio.create_task(self._send_loop(i))
                 for i in range(self.settings.email_worker_concurrency)]
        tasks.append(asyncio.create_task(self._campaign_loop()))
        if self.settings.task_reminders:
            tasks.append(asyncio.create_task(self._reminder_loop()))
        # renews leases until the senders are done, including the email in hand at stop()
        heartbeat = asyncio.create_task(self.leases.heartbeat())
        async with background.listening(
            self.database_url, emails.OUTBOX_CHANNEL, self.wake, self.listening,
            application_name=emails.WORKER_APPLICATION,
        ):
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in [*tasks, heartbeat]:
                    task.cancel()
                await asyncio.gather(*tasks, heartbeat, return_exceptions=True)

    def stop(self) -> None:
        """Finish the email in hand, then stop."""
        self.stopping.set()
        self.wake()

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        for event in self._wakes:
            event.set()

    def _wake_event(self) -> asyncio.Event:
        event = asyncio.Event()
        self._wakes.append(event)
        return event

    async def _idle(self, wake: asyncio.Event) -> None:
        """Sleep until new work is announced, the poll interval passes or we stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), self.settings.email_poll_seconds)
        wake.clear()

    async def _send_loop(self, index: int) -> None:
        mailer = self.mailer_factory()
        wake = self._wake_event()
        try:
            while not self.stopping.is_set():
                try:
                    handled = await self.send_due(mailer)
                except Exception:
                    log.exception("outbox pass failed; retrying after the poll interval")
                    handled = 0
                if not handled:
                    await self._idle(wake)
        finally:
            await mailer.close()

    async def _campaign_loop(self) -> None:
        wake = self._wake_event()
        while not self.stopping.is_set():
            try:
                busy = await campaigns.advance(self.settings, self.org_ids)
            except Exception:
                log.exception("campaign batch failed; retrying after the poll interval")
                busy = False
            if not busy:
                await self._idle(wake)

    async def _reminder_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                await reminders.run_once(self.settings, self.org_ids)
            except Exception:
                log.exception("task reminders failed; retrying after the poll interval")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.stopping.wait(), self.settings.task_reminder_poll_seconds
                )

    async def send_due(self, mailer: Mailer) -> int:
        """One pass over the organizations with due email, a batch each; how many were handled."""
        org_ids = await outbox.organizations_with_due_email(self.org_ids)
        random.shuffle(org_ids)  # no organization is always first in line
        handled = 0
        for org_id in org_ids:
            if self.stopping.is_set():
                break
            since = self.leases.now()
            batch = await outbox.claim(
                org_id=org_id, limit=self.settings.email_batch_size, worker=self.name,
                lease_seconds=self.settings.email_lease_seconds, rate=self.rate,
            )
            self.leases.hold((item.id for item in batch), since)
            try:
                for position, item in enumerate(batch):
                    if self.stopping.is_set():
                        await self._give_back(batch[position:])
                        break
                    await self.deliver(mailer, item)
                    handled += 1
            finally:
                for item in batch:
                    self.leases.release(item.id)
        return handled

    async def _give_back(self, items: Sequence[outbox.Claimed]) -> None:
        for item in items:
            await self._set(item, EmailStatus.QUEUED, retry_in=0, refund_attempt=True)

    async def _set(self, item: outbox.Claimed, status: EmailStatus, **change: Any) -> None:
        """Record an outcome while the lease is still ours (never over another's claim)."""
        if await emails.set_status(item.id, status, holder=self.name, **change) is None:
            log.warning("email %s was no longer leased to this worker (wanted %s)",
                        item.id, status.value)

    async def deliver(self, mailer: Mailer, item: outbox.Claimed) -> None:
        """Send one claimed email and record what happened."""
        s = self.settings
        if item.opted_out:
            await self._set(item, EmailStatus.FAILED,
                            error="the recipient opted out before delivery")
            return
        if item.attempts > s.email_max_attempts:
            await self._set(item, EmailStatus.FAILED, error=(
                f"gave up after {item.attempts - 1} attempts (the last worker's lease expired)"))
            return
        if self.leases.remaining(item.id) < self.leases.renew_every:
            # renewals are failing: the lease could run out soon; give it back, unsent
            await self._give_back([item])
            return
        try:
            async with self.leases.guard(item.id):
                reply = await mailer.send(
                    sender=item.sender, recipient=item.recipient, mime=item.mime
                )
        except DeliveryError as exc:
            await self._failed(item, exc)
            return
        except TimeoutError:
            # the lease could have run out mid-send: the conversation was cut off, its state is
            # unknown (the server may have accepted the message): drop it and retry later
            mailer.drop()
            await self._failed(item, DeliveryError(
                "cut off before the worker's lease could run out", permanent=False))
            return
        if await emails.set_status(item.id, EmailStatus.SENT, error=None) is None:
            log.warning("email %s was sent but changed meanwhile (%s)", item.id, reply)

    async def _failed(self, item: outbox.Claimed, exc: DeliveryError) -> None:
        if exc.permanent or item.attempts >= self.settings.email_max_attempts:
            log.info("email %s failed for good: %s", item.id, exc.message)
            await self._set(item, EmailStatus.FAILED, error=exc.message)
            return
        delay = backoff_seconds(self.settings, item.attempts)
        log.info("email %s attempt %s failed (%s); next in %.1fs",
                 item.id, item.attempts, exc.message, delay)
        await self._set(item, EmailStatus.QUEUED, error=exc.message, retry_in=delay)


@asynccontextmanager
async def service(app: Any, settings: Settings) -> AsyncIterator[None]:
    """The worker inside the API process, when ``CRM_EMAIL_WORKER_IN_PROCESS`` is on."""
    if not settings.email_worker_in_process:
        yield
        return
    worker = Worker(settings, database_url=app.state.database_url)
    async with background.running(
        worker, "email-outbox-worker", settings.shutdown_timeout_seconds
    ):
        yield


async def run_worker(settings: Settings, database_url: str, org_slugs: Sequence[str]) -> int:
    """``crm worker``: work until SIGINT/SIGTERM, then finish the email in hand and stop."""
    import signal

    from db import user as users

    org_ids: list[int] | None = None
    if org_slugs:
        found = [await users.get_organization(slug) for slug in org_slugs]
        if None in found:
            log.error("unknown organization among %s", ", ".join(org_slugs))
            return 2
        org_ids = [org.id for org in found if org is not None]
    worker = Worker(settings, database_url=database_url, org_ids=org_ids)
    loop = asyncio.get_running_loop()
    running = asyncio.create_task(worker.run())

    def stop() -> None:
        # the emails in hand may finish within the deadline; after it they are abandoned
        # (unsent or not, their leases run out and another worker sends them)
        worker.stop()
        loop.call_later(settings.shutdown_timeout_seconds, running.cancel)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    log.info("email worker %s started (%s senders)", worker.name,
             settings.email_worker_concurrency)
    try:
        await running
    except asyncio.CancelledError:
        if not worker.stopping.is_set():
            raise
        log.warning("email worker %s did not finish within %.0fs; its leases will run out",
                    worker.name, settings.shutdown_timeout_seconds)
        return 1
    log.info("email worker %s stopped", worker.name)
    return 0
