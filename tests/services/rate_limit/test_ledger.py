"""Spending budgets from slices reserved in a store: few store calls, never over the limit."""

from __future__ import annotations

import logging

import pytest

from db.rate_limit import Reservation
from services.rate_limit.ledger import Ledger, points_for
from services.rate_limit.redis_store import RedisStore
from services.rate_limit.stores import ProcessStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counted(ProcessStore):
    """A process store that counts the reservations made in it."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.calls = 0

    async def reserve(self, principal: str, points: int, window_seconds: int) -> Reservation:
        self.calls += 1
        return await super().reserve(principal, points, window_seconds)


def _ledger(store: ProcessStore, clock: Clock, slice_points: int = 10) -> Ledger:
    return Ledger(store, window_seconds=60, slice_points=slice_points, max_accounts=3,
                  clock=clock)


def test_points_are_a_hundredth_of_the_cost_at_least_one() -> None:
    assert [points_for(c) for c in (0, 1, 100, 101, 10_201, 50_000)] == [1, 1, 1, 2, 103, 500]


async def test_a_slice_serves_many_requests_with_one_store_call() -> None:
    clock = Clock()
    store = Counted(clock)
    ledger = _ledger(store, clock)
    account = ledger.account("user:1", 1000)
    assert all([await ledger.charge(account, 1) for _ in range(10)])
    assert store.calls == 1
    assert await ledger.charge(account, 3)  # the next slice, twice as large
    assert (store.calls, account.lease) == (2, 17)
    assert await ledger.charge(account, 25)  # a dear request reserves what it needs at once
    assert (store.calls, account.lease) == (3, 12)
    budget = ledger.budget(account)
    assert (budget.limit, budget.remaining, budget.reset, budget.allowed) == (1000, 962, 60, True)


async def test_a_slice_doubles_each_time_up_to_a_fiftieth_then_resets_with_the_window() -> None:
    clock = Clock()
    store = Counted(clock)
    ledger = _ledger(store, clock)
    account = ledger.account("user:1", 10_000)  # a fiftieth: 200
    slices = []
    for _ in range(6):
        assert await ledger.charge(account, account.lease + 1)  # drain it at once
        slices.append(account.slice)
    assert slices == [10, 20, 40, 80, 160, 200]
    assert store.calls == 6
    clock.now += 61
    assert ledger.account("user:1", 10_000).slice == 10  # a new window starts small again


async def test_slices_are_a_fiftieth_of_small_budgets() -> None:
    clock = Clock()
    ledger = _ledger(Counted(clock), clock, slice_points=50)
    assert ledger.account("user:1", 5000).slice == 50
    assert ledger.account("user:2", 400).slice == 8
    assert ledger.account("user:3", 5).slice == 1


async def test_processes_together_never_spend_more_than_the_limit() -> None:
    clock = Clock()
    shared = Counted(clock)
    a, b = _ledger(shared, clock, slice_points=4), _ledger(shared, clock, slice_points=4)
    on_a, on_b = a.account("user:1", 202), b.account("user:1", 202)  # slices of 4
    spent = 0
    for _ in range(150):
        spent += await a.charge(on_a, 1)
        spent += await b.charge(on_b, 1)
    assert spent == 202  # each process's unspent slice went to requests before either refused
    calls = shared.calls
    assert not await a.charge(on_a, 1)
    assert shared.calls == calls  # a spent budget is known: no store call until the window ends
    refused = a.budget(on_a, refused=True)
    assert (refused.remaining, refused.retry_after) == (0, 60)
    assert shared.calls < 202 / 4 + 4  # a store call per slice, and a last one or two


async def test_a_partial_grant_still_pays_for_cheaper_requests() -> None:
    clock = Clock()
    ledger = _ledger(Counted(clock), clock)
    account = ledger.account("user:1", 30)
    assert await ledger.charge(account, 27)
    assert not await ledger.charge(account, 5)  # only 3 points were left to grant
    assert account.lease == 3
    assert await ledger.charge(account, 2)


async def test_a_new_window_brings_the_budget_back() -> None:
    clock = Clock()
    ledger = _ledger(Counted(clock), clock)
    account = ledger.account("user:1", 10)
    assert await ledger.charge(account, 10)
    assert not await ledger.admit(account)
    clock.now += 59.5
    assert ledger.budget(account, refused=True).retry_after == 1
    clock.now += 0.5
    fresh = ledger.account("user:1", 10)
    assert await ledger.admit(fresh)
    assert ledger.budget(fresh).remaining == 10


async def test_admission_reserves_what_the_last_request_cost() -> None:
    clock = Clock()
    store = Counted(clock)
    ledger = _ledger(store, clock)
    account = ledger.account("user:1", 1000)
    account.expected = 30
    assert await ledger.admit(account)
    assert account.lease == 30
    assert ledger.spend(account, 30)  # what the request is charged later needs no store call
    assert store.calls == 1


async def test_accounts_are_bounded() -> None:
    clock = Clock()
    ledger = _ledger(Counted(clock), clock)
    for n in range(5):
        ledger.account(f"user:{n}", 10)
    assert list(ledger._accounts) == ["user:2", "user:3", "user:4"]


async def test_an_unreachable_store_lets_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    store = RedisStore("redis://127.0.0.1:1/0")  # nothing listens there
    ledger = Ledger(store, window_seconds=60, slice_points=10, max_accounts=10, clock=clock)
    account = ledger.account("user:1", 5)
    with caplog.at_level(logging.WARNING, logger="crm.rate_limit"):
        assert all([await ledger.charge(account, 1) for _ in range(8)])
    assert len(caplog.records) == 1  # one failed call, then none for a while
    await store.aclose()
