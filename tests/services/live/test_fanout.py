"""Fan-out groups: one render per group and event, shared, forgotten with the event."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

from services.live import fanout
from services.live.fanout import Fanout, Render


class Event:
    """Stands in for db.events.Event (any object that can be weakly referenced)."""


class Member:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, payload: bytes) -> None:
        self.sent.append(payload)


def renderer(calls: list[object], result: bytes | None = b'{"data":1}', delay: float = 0
             ) -> Callable[[], Render]:
    async def render(root: object) -> bytes | None:
        calls.append(root)
        await asyncio.sleep(delay)
        return result

    return lambda: render


async def deliver_as(hub: Fanout, member: Member, event: Event, render: Callable[[], Render],
                     key: object = "k") -> bool:
    with fanout.bind(hub, key, member, render):
        return await fanout.deliver(event, lambda: "root")


async def test_members_of_a_group_share_one_render_per_event() -> None:
    hub, calls = Fanout(), []
    members = [Member() for _ in range(20)]
    events = [Event(), Event()]
    for event in events:
        delivered = await asyncio.gather(
            *(deliver_as(hub, m, event, renderer(calls, delay=0.01)) for m in members))
        assert all(delivered)
    assert len(calls) == 2
    assert hub.executions == 2
    assert all(m.sent == [b'{"data":1}'] * 2 for m in members)
    assert hub.group_count() == 0  # every member left


async def test_different_keys_render_separately() -> None:
    hub, calls = Fanout(), []
    event = Event()
    await asyncio.gather(deliver_as(hub, Member(), event, renderer(calls), key="a"),
                         deliver_as(hub, Member(), event, renderer(calls), key="b"))
    assert len(calls) == 2


async def test_unshareable_results_and_failures_leave_members_to_execute() -> None:
    hub, calls = Fanout(), []
    member = Member()
    assert not await deliver_as(hub, member, Event(), renderer(calls, result=None))

    async def broken(root: object) -> bytes | None:
        raise RuntimeError("boom")

    assert not await deliver_as(hub, member, Event(), lambda: broken)
    assert member.sent == []
    assert not await fanout.deliver(Event(), lambda: "root")  # not bound: not grouped
    assert not await deliver_as(hub, member, Event(), renderer(calls), key=None)


async def test_a_cancelled_member_does_not_cancel_the_others() -> None:
    hub, calls = Fanout(), []
    event, first, second = Event(), Member(), Member()
    render = renderer(calls, delay=0.05)
    cancelled = asyncio.create_task(deliver_as(hub, first, event, render))
    await asyncio.sleep(0.01)
    waiting = asyncio.create_task(deliver_as(hub, second, event, render))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    assert await waiting
    assert second.sent == [b'{"data":1}']
    assert len(calls) == 1


async def test_results_are_forgotten_with_their_event() -> None:
    hub, calls = Fanout(), []
    group = hub.join("k", renderer(calls))
    event = Event()
    await group.result(event, lambda: "root")
    assert len(group._results) == 1
    del event
    gc.collect()
    assert group._results == {}
