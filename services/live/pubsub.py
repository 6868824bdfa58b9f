"""Live interaction events for this process: one LISTEN connection, fanned out to local subscribers.

Each server process keeps one dedicated asyncpg connection (not a pooled one) listening on
``db.events.CHANNEL``. Notifications name a committed transaction and an organization; the
dispatcher reads those events once (only for organizations with local subscribers) and offers
them to every matching subscription's bounded queue, never waiting on a subscriber.

Nothing is missed across a lost connection: the broker keeps a *horizon*, a transaction id below
which every transaction has been handled. After reconnecting (LISTEN first, then one snapshot) it
reads every transaction at or above the horizon that has events and was not handled yet. The
horizon advances on periodic ticks to the oldest running transaction measured one tick earlier,
so notifications still in flight when it was measured have arrived before it is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from itertools import islice
from typing import Any

import asyncpg
from starlette.applications import Starlette

from auth import identity
from core import database, metrics
from core.config import Settings
from db import events, team
from db.events import Event, Notice

log = logging.getLogger("crm.pubsub")
Connect = Callable[[], Awaitable[asyncpg.Connection]]
BATCH = 200
MAX_BACKOFF = 1.0  # a restarted database is listened to again within a second
PRUNE_EVERY_TICKS = 60


class SubscriberTooSlow(Exception):
    """The subscriber fell further behind than its queue allows; it was dropped."""


class Subscription:
    """One subscriber's bounded queue of events; iterate it, or use it as a context manager."""

    def __init__(
        self, broker: Broker, org_id: int, accepts: Callable[[Event], bool], limit: int
    ) -> None:
        self.org_id = org_id
        self.accepts = accepts
        self._broker = broker
        self._limit = limit
        self._events: deque[Event] = deque()
        self._ready = asyncio.Event()
        self.lagging = False
        self.closed = False

    def offer(self, event: Event) -> None:
        """Queue ``event``; a full queue drops everything and marks the subscriber lagging."""
        if self.closed:
            return
        if len(self._events) >= self._limit:
            self._events.clear()
            self.lagging = True
            metrics.SUBSCRIPTIONS_DROPPED.inc()
            self.close()
            return
        self._events.append(event)
        self._ready.set()

    def close(self) -> None:
        """Stop receiving; a waiting reader wakes up and ends (or raises if it was lagging)."""
        self.closed = True
        self._broker.forget(self)
        self._ready.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        while not self._events:
            if self.lagging:
                raise SubscriberTooSlow
            if self.closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._events.popleft()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class Broker:
    """This process's listener and dispatcher."""

    def __init__(
        self,
        connect: Connect,
        *,
        queue_size: int = 1000,
        tick_seconds: float = 10.0,
        retention: timedelta = timedelta(days=1),
    ) -> None:
        self.queue_size = queue_size
        self._connect = connect
        self._tick_seconds = tick_seconds
        self._retention = retention
        self._subscribers: dict[int, set[Subscription]] = {}
        self._handled: set[Notice] = set()
        self._pending: dict[Notice, None] = {}
        self._wake = asyncio.Event()
        self._lost = asyncio.Event()
        self._listen: asyncpg.Connection | None = None
        self._horizon = 0
        self._candidate = 0
        self._ticks = 0
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = asyncio.Event()
        self.reconnects = 0

    # --- subscribers ----------------------------------------------------------------------

    def subscribe(self, org_id: int, accepts: Callable[[Event], bool]) -> Subscription:
        """A new subscription to the organization's events that ``accepts`` lets through."""
        subscription = Subscription(self, org_id, accepts, self.queue_size)
        self._subscribers.setdefault(org_id, set()).add(subscription)
        metrics.SUBSCRIPTIONS_OPEN.inc()
        return subscription

    def forget(self, subscription: Subscription) -> None:
        """Stop offering events to ``subscription``."""
        subscribers = self._subscribers.get(subscription.org_id)
        if subscribers is not None and subscription in subscribers:
            subscribers.discard(subscription)
            metrics.SUBSCRIPTIONS_OPEN.dec()
            if not subscribers:
                del self._subscribers[subscription.org_id]

    def subscriber_count(self, org_id: int | None = None) -> int:
        """How many subscriptions are live (in one organization, or in all)."""
        if org_id is not None:
            return len(self._subscribers.get(org_id, ()))
        return sum(len(s) for s in self._subscribers.values())

    @property
    def horizon(self) -> int:
        """Every transaction older than this id has been handled."""
        return self._horizon

    @property
    def backend_pid(self) -> int | None:
        """The server process id of the listening connection (None while disconnected)."""
        return self._listen.get_server_pid() if self._listen is not None else None

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (failing fast if the database is unreachable) and start listening."""
        await self._open(catch_up=False)
        self._tasks = [
            asyncio.create_task(self._supervise(), name="crm-pubsub-supervisor"),
            asyncio.create_task(self._dispatch(), name="crm-pubsub-dispatcher"),
        ]

    async def stop(self) -> None:
        """Stop listening and end every subscription."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._close_listen()
        for subscribers in list(self._subscribers.values()):
            for subscription in list(subscribers):
                subscription.close()

    async def _open(self, *, catch_up: bool) -> None:
        conn = await self._connect()
        try:
            conn.add_termination_listener(self._on_terminated)
            await conn.add_listener(events.CHANNEL, self._on_notification)
            # a user deactivated or given another role: its cached viewers go at once
            await conn.add_listener(team.USER_CHANNEL, self._on_user_changed)
            # LISTEN is active before this snapshot: later commits are notified, earlier seen
            if catch_up:
                identity.forget_viewers()  # changes while disconnected were not heard
                now, notices = await events.committed_since(conn, self._horizon)
                for notice in notices:
                    self._accept(notice)
                log.info("listener reconnected; caught up on %d transactions", len(notices))
            else:
                now = await events.horizon(conn)
                self._horizon = now
        except BaseException:
            conn.terminate()
            raise
        self._candidate = max(self._candidate, now)
        self._listen = conn
        self._lost.clear()
        self.connected.set()

    async def _close_listen(self) -> None:
        conn, self._listen = self._listen, None
        self.connected.clear()
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), timeout=2)
            except (OSError, TimeoutError, asyncpg.PostgresError):
                conn.terminate()

    def _on_terminated(self, conn: asyncpg.Connection) -> None:
        if conn is self._listen:
            self._lost.set()

    # --- listening ------------------------------------------------------------------------

    def _on_notification(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        notice = events.parse_notice(payload)
        if notice is None:
            log.warning("ignoring malformed notification %r", payload[:200])
            return
        self._accept(notice)

    def _on_user_changed(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            identity.forget_user(int(payload))

    def _accept(self, notice: Notice) -> None:
        if notice.xid < self._horizon or notice in self._handled:
            return
        self._handled.add(notice)
        if notice.org_id in self._subscribers:
            self._pending[notice] = None
            self._wake.set()

    async def _supervise(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._lost.wait(), self._tick_seconds)
            except TimeoutError:
                await self._tick()
                continue
            log.warning("listener connection lost; reconnecting")
            await self._reconnect()

    async def _tick(self) -> None:
        conn = self._listen
        if conn is None:
            return
        try:
            now = await asyncio.wait_for(events.horizon(conn), timeout=self._tick_seconds)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            self._lost.set()
            return
        # notifications of transactions older than the previous measurement have all arrived
        self._horizon = max(self._horizon, self._candidate)
        self._candidate = now
        self._handled = {n for n in self._handled if n.xid >= self._horizon}
        self._ticks += 1
        if self._ticks % PRUNE_EVERY_TICKS == 0:
            await self._prune()

    async def _prune(self) -> None:
        try:
            removed = await events.prune(self._retention)
        except Exception:
            log.warning("could not prune old interaction events", exc_info=True)
            return
        if removed:
            log.info("pruned %d interaction events", removed)

    async def _reconnect(self) -> None:
        await self._close_listen()
        delay = 0.05
        while True:
            try:
                await self._open(catch_up=True)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                log.warning("listener reconnect failed; retrying in %.1fs", delay, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            self.reconnects += 1
            return

    # --- dispatching ----------------------------------------------------------------------

    async def _dispatch(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = list(islice(self._pending, BATCH))
                try:
                    async for event in events.read(batch):
                        self._deliver(event)
                except Exception:
                    log.exception("reading interaction events failed; retrying")
                    await asyncio.sleep(1)
                    continue
                for notice in batch:
                    self._pending.pop(notice, None)

    def _deliver(self, event: Event) -> None:
        for subscription in list(self._subscribers.get(event.org_id, ())):
            if subscription.accepts(event):
                subscription.offer(event)


def broker_of(app: Starlette) -> Broker:
    """The broker the ``service`` started for ``app``."""
    broker: Broker = app.state.pubsub
    return broker


@contextlib.asynccontextmanager
async def service(app: Starlette, settings: Settings) -> AsyncIterator[None]:
    """Runs this process's broker while the app runs (registered in ``app.main.SERVICES``)."""
    params = database.connection_params(app.state.database_url)

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(
            **params, timeout=10, server_settings={"application_name": "crm-listener"}
        )

    broker = Broker(
        connect, queue_size=settings.subscription_queue_size,
        retention=timedelta(seconds=settings.event_retention_seconds),
    )
    await broker.start()
    app.state.pubsub = broker
    try:
        yield
    finally:
        await broker.stop()
