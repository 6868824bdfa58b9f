"""Short leases on claimed emails, renewed by a heartbeat while their worker lives.

Why a lease in the row rather than claims tied to a database session (an advisory lock, or the
claiming backend's pid): a session ends whenever its connection does, and that is not only when
the worker dies. A database restart, a failover or a pooler in transaction mode ends it while
the worker is in the middle of an SMTP conversation, and another worker would take the email and
send it a second time at once. A lease is a moment stored with the email: it outlives restarts,
and the worker knows how long it surely holds it without asking anyone (it counts from before
the statement that set it). So each send is guarded: the SMTP conversation is cut off
``margin`` before the lease could run out, and every renewal moves that deadline on. No email
is ever in two workers' hands, and a killed worker's emails are due again at most one lease
(``CRM_EMAIL_LEASE_SECONDS``, 15 s) after its last renewal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from db import outbox

log = logging.getLogger("crm.outbox")


class Leases:
    """The emails one worker holds, how long each surely stays held, and the heartbeat."""

    def __init__(self, worker: str, lease_seconds: float) -> None:
        self.worker = worker
        self.lease_seconds = lease_seconds
        self.renew_every = lease_seconds / 3  # two renewals may fail before a lease is at risk
        # sends stop this long before a lease could run out: time to drop the SMTP connection,
        # and slack for the database's clock against ours
        self.margin = lease_seconds / 5
        self._until: dict[int, float] = {}  # email id -> loop time its lease surely lasts until
        self._guards: dict[int, asyncio.Timeout] = {}
        self.renewals = 0

    @staticmethod
    def now() -> float:
        """The clock leases are counted on (the event loop's, monotonic)."""
        return asyncio.get_running_loop().time()

    def hold(self, ids: Iterable[int], since: float) -> None:
        """Record emails claimed by a statement sent at ``since`` (``now()`` before it)."""
        for email_id in ids:
            self._until[email_id] = since + self.lease_seconds

    def release(self, email_id: int) -> None:
        """The email is no longer ours (sent, failed, given back): stop renewing it."""
        self._until.pop(email_id, None)

    def held(self) -> list[int]:
        """The emails this worker holds."""
        return list(self._until)

    def remaining(self, email_id: int) -> float:
        """Seconds the email may still be worked on (negative once its lease is at risk)."""
        until = self._until.get(email_id)
        return -1.0 if until is None else until - self.margin - self.now()

    @asynccontextmanager
    async def guard(self, email_id: int) -> AsyncIterator[None]:
        """Cut the block off with ``TimeoutError`` before the email's lease could run out."""
        async with asyncio.timeout_at(self._until[email_id] - self.margin) as timeout:
            self._guards[email_id] = timeout
            try:
                yield
            finally:
                self._guards.pop(email_id, None)

    async def renew(self) -> None:
        """One heartbeat: extend every held lease in one statement."""
        ids = self.held()
        if not ids:
            return
        since = self.now()
        renewed = await outbox.renew(ids=ids, worker=self.worker, lease_seconds=self.lease_seconds)
        self.renewals += 1
        for email_id in renewed:
            if email_id not in self._until:
                continue  # released while the statement ran
            self._until[email_id] = since + self.lease_seconds
            guard = self._guards.get(email_id)
            if guard is not None:
                guard.reschedule(self._until[email_id] - self.margin)
        # An id not renewed was changed by this worker a moment ago (its outcome is being
        # recorded): a lease can only be taken over after it ran out, and its guard stops the
        # send before that.

    async def heartbeat(self) -> None:
        """Renew every ``renew_every`` seconds until cancelled; failures are retried."""
        while True:
            await asyncio.sleep(self.renew_every)
            try:
                await asyncio.wait_for(self.renew(), self.renew_every)
            except Exception:
                log.warning("lease renewal failed; sends stop before leases run out",
                            exc_info=True)
