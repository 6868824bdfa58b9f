"""Relay connections over keyset pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

import strawberry

from db.pagination import (
    Page,
    PageArgs,
    Sort,
    Source,
    count,
    encode_cursor,
    fetch_page,
    page_args,
)
from db.sql import Row

NodeT = TypeVar("NodeT")


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type(description="A page of a list; cursors are opaque and stable under inserts.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    nodes: list[NodeT]
    page_info: PageInfo
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds (one extra query).")
    async def total_count(self) -> int:
        return await self.counter()


def connection(
    page: Page,
    sort: Sort,
    node_of: Callable[[Row], NodeT],
    counter: Callable[[], Awaitable[int]],
) -> Connection[NodeT]:
    """A connection of ``page``'s rows, each turned into an API object by ``node_of``."""
    cursors = [encode_cursor(sort, row) for row in page.rows]
    nodes = [node_of(row) for row in page.rows]
    return Connection(
        edges=[Edge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
        nodes=nodes,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        ),
        counter=counter,
    )


def page_args_for(
    info: strawberry.Info[Any, Any],
    sort: Sort,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> PageArgs:
    """Relay arguments checked against the configured page sizes."""
    settings = info.context.settings
    return page_args(
        sort, first=first, after=after, last=last, before=before,
        default_size=settings.default_page_size, max_size=settings.max_page_size,
    )


async def child_connection(
    info: strawberry.Info[Any, Any],
    parent_id: int,
    *,
    source: Callable[[], Source],
    parent: str,
    sort: Sort,
    args: PageArgs,
    filter_key: Hashable,
    node_of: Callable[[Row], NodeT],
) -> Connection[NodeT]:
    """A nested connection (e.g. a customer's interactions), batched across all parents."""
    loaders = info.context.loaders
    pages = loaders.child_pages((parent, filter_key, sort.name, args), source, parent, sort, args)
    page = await pages.load(parent_id)
    counts = loaders.child_counts((parent, filter_key), source, parent)

    async def counter() -> int:
        return await counts.load(parent_id) or 0

    return connection(page or Page([], False, False), sort, node_of, counter)


async def root_connection(
    info: strawberry.Info[Any, Any],
    sort: Sort,
    source: Callable[[], Source],
    node_of: Callable[[Row], NodeT],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[NodeT]:
    """A top-level connection over ``source`` (counted only if ``totalCount`` is asked for)."""
    args = page_args_for(info, sort, first, after, last, before)
    page = await fetch_page(source(), sort, args)
    return connection(page, sort, node_of, lambda: count(source()))
