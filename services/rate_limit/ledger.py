"""Spending shared budgets locally: a process reserves a slice of a principal's budget in one
store call and spends it request by request, so most requests touch no store at all.

The store never grants more than a budget holds (``Reservation.granted``), so every process
together never spends more than the limit in a window. The price is the other way round: points a
process reserved but has not spent yet are unavailable to the others, at most one slice (a
fiftieth of the budget at most) per process and principal, and they lapse with the window. A
slice starts small and doubles each time a principal needs the store again in the same window,
so a busy principal costs a few store calls a window however many requests it makes.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from services.rate_limit.stores import BudgetStore

log = logging.getLogger("crm.rate_limit")
COST_PER_POINT = 100  # a query of cost up to 100 costs one point, up to 200 two, ...
STORE_DOWN_SECONDS = 5.0  # after a failed store call, requests pass without one for this long


def points_for(cost: int) -> int:
    """The points a query of ``cost`` is charged: one per 100 of cost, rounded up, at least one."""
    return max(1, -(-cost // COST_PER_POINT))


@dataclass(frozen=True)
class Budget:
    """What is left of a principal's budget, as this process knows it."""

    key: str
    limit: int
    remaining: int
    reset: int  # seconds until the window ends and the whole budget is back
    retry_after: int = 0  # seconds until a refused request may be tried again (0: not refused)

    @property
    def allowed(self) -> bool:
        """Whether the request may go ahead."""
        return self.retry_after == 0


@dataclass
class Account:
    """One principal's budget in this process: the slice it holds and what the store said last."""

    principal: str
    limit: int
    slice: int  # the points reserved at once
    lease: int = 0  # reserved by this process, not spent yet
    used: int = 0  # reserved in the window by every process, as the store said last
    deadline: float = 0.0  # when the window ends, on this process's clock (0: none yet)
    exhausted: bool = False  # the store has nothing left in this window
    expected: int = 1  # what the principal's last request cost: likely what the next one will
    reserved: bool = False  # whether this process reserved for it in this window yet


class Ledger:
    """The accounts of the principals this process serves (at most ``max_accounts``)."""

    def __init__(
        self, store: BudgetStore, *, window_seconds: int, slice_points: int, max_accounts: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.window_seconds = window_seconds
        self.slice_points = slice_points
        self.max_accounts = max_accounts
        self.clock = clock
        self._accounts: OrderedDict[str, Account] = OrderedDict()
        self._store_down_until = 0.0

    def account(self, principal: str, limit: int) -> Account:
        """``principal``'s account, a fresh one when its window has ended."""
        found = self._accounts.pop(principal, None)
        if found is None or found.limit != limit or 0 < found.deadline <= self.clock():
            found = Account(principal, limit, max(1, min(self.slice_points, limit // 50)))
        self._accounts[principal] = found
        while len(self._accounts) > self.max_accounts:
            self._accounts.popitem(last=False)  # the least recently used (its slice lapses)
        return found

    @staticmethod
    def spend(account: Account, points: int) -> bool:
        """Spend ``points`` from what the account holds, if it holds them (no store call)."""
        if account.lease < points:
            return False
        account.lease -= points
        return True

    async def charge(self, account: Account, points: int) -> bool:
        """Spend ``points``, reserving more from the store first when the account needs them."""
        if self.spend(account, points):
            return True
        await self.reserve(account, points)
        return self.spend(account, points)

    async def admit(self, account: Account) -> bool:
        """Whether a request may start: the account holds what the last request cost (reserving
        it when not), or at least the one point every request costs."""
        if account.lease < account.expected:
            await self.reserve(account, account.expected)
        return account.lease >= 1

    async def reserve(self, account: Account, points: int) -> None:
        """Top the account up to ``points`` with one store call, unless the store is spent."""
        if account.exhausted or account.lease >= points:
            return
        if account.reserved:
            # needed the store again in the same window: reserve twice as much next time, up
            # to a fiftieth of the budget, so a busy principal makes a few store calls a
            # window, not one every few requests
            account.slice = min(account.slice * 2, max(account.slice, account.limit // 50))
        account.reserved = True
        want = max(points - account.lease, account.slice)
        if self.clock() < self._store_down_until:
            account.lease += want  # fail open: limits must not take the service down
            return
        try:
            reservation = await self.store.reserve(account.principal, want, self.window_seconds)
        except Exception:
            log.warning("rate limit store failed: requests pass unlimited for %s s",
                        STORE_DOWN_SECONDS, exc_info=True)
            self._store_down_until = self.clock() + STORE_DOWN_SECONDS
            account.lease += want
            return
        granted = reservation.granted(account.limit)
        account.lease += granted
        account.used = reservation.used
        account.exhausted = granted < want
        account.deadline = self.clock() + reservation.reset_ms / 1000

    def budget(
        self, account: Account, refused: bool = False, retry_after: int | None = None
    ) -> Budget:
        """The account's budget as response headers tell it (``retry_after``: as fixed when the
        request was refused; otherwise worked out from ``refused``)."""
        left = (account.deadline - self.clock()) if account.deadline else self.window_seconds
        reset = max(0, math.ceil(left))
        remaining = min(account.limit, max(0, account.limit - account.used) + account.lease)
        if retry_after is None:
            retry_after = max(1, reset) if refused else 0
        return Budget(account.principal, account.limit, remaining, reset, retry_after)
