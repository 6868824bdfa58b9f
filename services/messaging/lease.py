"""Short leases on claimed messages, renewed by a heartbeat while their worker lives.

The same scheme as the email outbox (services/email/outbox_lease.py explains why a lease in the
row): each provider call is cut off ``margin`` before the message's lease could run out, every
renewal moves that deadline on, and a killed worker's messages are due again one lease
(``CRM_CHANNEL_LEASE_SECONDS``) after its last renewal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from db import channel_message as messages

log = logging.getLogger("crm.channels")


class Leases:
    """The messages one worker holds, how long each surely stays held, and the heartbeat."""

    def __init__(self, worker: str, lease_seconds: float) -> None:
        self.worker = worker
        self.lease_seconds = lease_seconds
        self.renew_every = lease_seconds / 3
        self.margin = lease_seconds / 5
        self._until: dict[int, float] = {}
        self._guards: dict[int, asyncio.Timeout] = {}

    @staticmethod
    def now() -> float:
        """The clock leases are counted on (the event loop's, monotonic)."""
        return asyncio.get_running_loop().time()

    def hold(self, ids: Iterable[int], since: float) -> None:
        """Record messages claimed by a statement sent at ``since``."""
        for message_id in ids:
            self._until[message_id] = since + self.lease_seconds

    def release(self, message_id: int) -> None:
        """The message is no longer ours: stop renewing it."""
        self._until.pop(message_id, None)

    def remaining(self, message_id: int) -> float:
        """Seconds the message may still be worked on (negative once its lease is at risk)."""
        until = self._until.get(message_id)
        return -1.0 if until is None else until - self.margin - self.now()

    @asynccontextmanager
    async def guard(self, message_id: int) -> AsyncIterator[None]:
        """Cut the block off with ``TimeoutError`` before the message's lease could run out."""
        async with asyncio.timeout_at(self._until[message_id] - self.margin) as timeout:
            self._guards[message_id] = timeout
            try:
                yield
            finally:
                self._guards.pop(message_id, None)

    async def renew(self) -> None:
        """One heartbeat: extend every held lease in one statement."""
        ids = list(self._until)
        if not ids:
            return
        since = self.now()
        renewed = await messages.renew(ids=ids, worker=self.worker,
                                       lease_seconds=self.lease_seconds)
        for message_id in renewed:
            if message_id in self._until:
                self._until[message_id] = since + self.lease_seconds
                guard = self._guards.get(message_id)
                if guard is not None:
                    guard.reschedule(self._until[message_id] - self.margin)

    async def heartbeat(self) -> None:
        """Renew every ``renew_every`` seconds until cancelled; failures are retried."""
        while True:
            await asyncio.sleep(self.renew_every)
            try:
                await asyncio.wait_for(self.renew(), self.renew_every)
            except Exception:
                log.warning("lease renewal failed; sends stop before leases run out",
                            exc_info=True)
