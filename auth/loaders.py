"""DataLoaders, created afresh for every GraphQL operation so nothing cached outlives it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from functools import cached_property
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from db import customer as customers
from db import customer_score
from db import email as emails
from db import interaction as interactions
from db import merge as merges
from db import order as orders
from db import prediction as predictions
from db import product as products
from db import recommendation as recommendations
from db import user as users
from db.pagination import Page, PageArgs, Sort, Source, count_by_parent, fetch_pages_by_parent

K = TypeVar("K")
V = TypeVar("V")
Row = dict[str, Any]


class SharedLoader(DataLoader[K, V]):
    """A DataLoader whose callers share a key's future, but not its cancellation.

    graphql-core cancels a failed field's sibling resolvers; a cancelled waiter must not cancel
    the future other fields of the response are waiting on for the same key.
    """

    def load(self, key: K) -> Awaitable[V]:
        return asyncio.shield(super().load(key))


def _by_key(
    fetch_many: Callable[[Sequence[K]], Awaitable[dict[K, V]]], default: V | None = None
) -> DataLoader[K, V | None]:
    async def load(keys: list[K]) -> list[V | None]:
        found = await fetch_many(keys)
        return [found.get(key, default) for key in keys]

    return SharedLoader(load_fn=load)


async def load_now(loader: DataLoader[K, V], key: K) -> V:
    """``loader.load(key)`` without the batching turn: fetched at once (and remembered) when
    no other load can come to batch with it."""
    cached = loader.cache_map.get(key) if loader.cache else None
    if cached is not None:
        return await cached
    [value] = await loader.load_fn([key])
    if isinstance(value, BaseException):
        raise value
    loader.prime(key, value)
    return value


class Loaders:
    """Batching loaders scoped to one organization and one operation (each made on first use:
    most operations need one or two of them)."""

    def __init__(self, org_id: int) -> None:
        self.org_id = org_id
        self._pages: dict[Hashable, DataLoader[int, Page | None]] = {}
        self._counts: dict[Hashable, DataLoader[int, int | None]] = {}
        self._keyed: dict[str, DataLoader[Any, Any]] = {}

    @cached_property
    def customer(self) -> DataLoader[int, Row | None]:
        return _by_key(lambda ids: customers.get_many(org_id=self.org_id, ids=ids))

    @cached_property
    def user(self) -> DataLoader[int, Row | None]:
        return _by_key(lambda ids: users.get_many(org_id=self.org_id, ids=ids))

    @cached_property
    def order(self) -> DataLoader[int, Row | None]:
        return _by_key(lambda ids: orders.get_many(org_id=self.org_id, ids=ids))

    @cached_property
    def product(self) -> DataLoader[int, Row | None]:
        return _by_key(lambda ids: products.get_many(org_id=self.org_id, ids=ids))

    @cached_property
    def recommendations(self) -> DataLoader[int, list[Row]]:
        """A customer's stored recommendations (or its segment's popular ones), best first."""
        return _by_key(lambda ids: recommendations.for_customers(org_id=self.org_id, ids=ids),
                       default=[])  # type: ignore[return-value]

    @cached_property
    def bought_together(self) -> DataLoader[int, list[Row]]:
        return _by_key(lambda ids: recommendations.neighbours(org_id=self.org_id, ids=ids),
                       default=[])  # type: ignore[return-value]

    @cached_property
    def product_by_sku(self) -> DataLoader[str, Row | None]:
        """By ``db.product.sku_key`` (SKUs compare case-insensitively)."""
        return _by_key(lambda keys: products.by_skus(org_id=self.org_id, skus=keys))

    @cached_property
    def interaction(self) -> DataLoader[int, Row | None]:
        return _by_key(lambda ids: interactions.get_many(org_id=self.org_id, ids=ids))

    @cached_property
    def prediction(self) -> DataLoader[int, Row | None]:
        return _by_key(lambda ids: predictions.get_many(org_id=self.org_id, customer_ids=ids))

    @cached_property
    def scores(self) -> DataLoader[int, list[Row] | None]:
        return _by_key(lambda ids: customer_score.for_customers(org_id=self.org_id,
                                                                customer_ids=ids))

    @cached_property
    def email_delivery(self) -> DataLoader[int, Row | None]:
        return _by_key(lambda ids: emails.deliveries(org_id=self.org_id, interaction_ids=ids))

    @cached_property
    def merged_into(self) -> DataLoader[int, int | None]:
        return _by_key(lambda ids: merges.merged_into(org_id=self.org_id, ids=ids))

    @cached_property
    def customer_stats(self) -> DataLoader[int, customers.CustomerStats | None]:
        return _by_key(lambda ids: customers.stats(ids=ids), customers.CustomerStats())

    def keyed(
        self, name: str, fetch_many: Callable[[int, Sequence[Any]], Awaitable[dict[Any, Any]]],
        default: Any = None,
    ) -> DataLoader[Any, Any]:
        """A loader named ``name`` over ``fetch_many(organization id, keys)``, made on first use
        (for domains that bring their own batch functions)."""
        if name not in self._keyed:
            self._keyed[name] = _by_key(lambda keys: fetch_many(self.org_id, keys), default)
        return self._keyed[name]

    def child_pages(
        self, key: Hashable, source: Callable[[], Source], parent: str, sort: Sort, args: PageArgs
    ) -> DataLoader[int, Page | None]:
        """A loader of one page per parent id, shared by fields asking with the same ``key``."""
        if key not in self._pages:
            self._pages[key] = _by_key(
                lambda ids: fetch_pages_by_parent(source(), parent, ids, sort, args)
            )
        return self._pages[key]

    def child_counts(
        self, key: Hashable, source: Callable[[], Source], parent: str
    ) -> DataLoader[int, int | None]:
        """A loader of the child count per parent id."""
        if key not in self._counts:
            self._counts[key] = _by_key(lambda ids: count_by_parent(source(), parent, ids), 0)
        return self._counts[key]
