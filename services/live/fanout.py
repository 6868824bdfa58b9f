"""Shared rendering of live events: one execution per group of subscribers, the same bytes to each.

Subscribers whose payloads would be identical byte for byte (same document, operation,
variables and permission context: the transport computes that key) form a *group*. For each
event the first member to reach it starts the group's render (execute the selection, encode the
payload); the others await the same result, and every member sends the shared bytes under its own
operation id. Each member still reads its own bounded queue and checks its own token first, so
ordering, expiry and ``SUBSCRIBER_TOO_SLOW`` behave per subscriber as before.

A render that returns None (the result carries errors, which name the subscriber's request id,
or the document cannot be shared) leaves every member to execute the event on its own.
The transport (``app/``) registers the operation running in the current task with ``bind``; this
module knows nothing of GraphQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextvars import ContextVar
from typing import Protocol

log = logging.getLogger("crm.fanout")
Render = Callable[[object], Awaitable[bytes | None]]


class Member(Protocol):
    """One subscription operation as the transport sees it."""

    async def send(self, payload: bytes) -> None:
        """Send an encoded result payload as this operation's next message."""


class Group:
    """Subscribers that receive identical bytes; renders each event once for all of them."""

    def __init__(self, fanout: Fanout, key: Hashable, render: Render) -> None:
        self.key = key
        self.members = 0
        self._fanout = fanout
        self._render = render
        self._results: dict[int, asyncio.Future[bytes | None]] = {}

    def result(self, event: object, root: Callable[[], object]) -> asyncio.Future[bytes | None]:
        """The encoded payload of ``event`` (rendered from ``root()`` by the first caller)."""
        found = self._results.get(id(event))
        if found is None:
            found = asyncio.ensure_future(self._run(root()))
            self._results[id(event)] = found
            # kept as long as some member may still read the event from its queue
            weakref.finalize(event, self._results.pop, id(event), None)
        return found

    async def _run(self, root: object) -> bytes | None:
        self._fanout.executions += 1
        try:
            return await self._render(root)
        except Exception:
            log.warning("shared render failed; members execute on their own", exc_info=True)
            return None


class Fanout:
    """This process's groups, by key; counts shared executions (for tests and benchmarks)."""

    def __init__(self) -> None:
        self._groups: dict[Hashable, Group] = {}
        self.executions = 0

    def join(self, key: Hashable, render: Callable[[], Render]) -> Group:
        """The group of ``key`` (created with ``render()`` if new), one member more."""
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = Group(self, key, render())
        group.members += 1
        return group

    def leave(self, group: Group) -> None:
        """One member less; an empty group is forgotten."""
        group.members -= 1
        if group.members <= 0 and self._groups.get(group.key) is group:
            del self._groups[group.key]

    def group_count(self) -> int:
        """How many groups have members."""
        return len(self._groups)


_bound: ContextVar[tuple[Group, Member] | None] = ContextVar("crm_live_member", default=None)


@contextlib.contextmanager
def bind(fanout: Fanout, key: Hashable | None, member: Member, render: Callable[[], Render]
         ) -> Iterator[None]:
    """Run the current task's subscription as ``member`` of the group of ``key``.

    A None key (nothing safe to share) leaves the subscription to execute every event itself.
    """
    if key is None:
        yield
        return
    group = fanout.join(key, render)
    token = _bound.set((group, member))
    try:
        yield
    finally:
        _bound.reset(token)
        fanout.leave(group)


async def deliver(event: object, root: Callable[[], object]) -> bool:
    """Send the group's payload of ``event`` (its root value made by ``root()``) to the current
    task's member.

    False when the task is in no group or the group's render could not be shared: the caller
    then executes the event as an ordinary subscription result.
    """
    bound = _bound.get()
    if bound is None:
        return False
    group, member = bound
    future = group.result(event, root)
    # most members find the result ready; shielding (a future and two callbacks) is for the rest
    payload = future.result() if future.done() else await asyncio.shield(future)
    if payload is None:
        return False
    await member.send(payload)
    return True
