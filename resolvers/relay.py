"""Relay's two shapes every object type repeats: one object by global ID, and a connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import strawberry

from auth.loaders import load_now
from db.pagination import Sort, Source
from db.sql import Row
from schema.node import decode_id
from schema.pagination import Connection, root_connection

T = TypeVar("T")
NodeOf = Callable[[Row], T]


async def get(info: strawberry.Info, loader: str, pk: int, node_of: NodeOf[T]) -> T | None:
    """Row ``pk`` of the caller's organization through the operation's batching ``loader``."""
    batching = getattr(info.context.loaders, loader)
    row = await (load_now(batching, pk) if info.context.immediate else batching.load(pk))
    return node_of(row) if row else None


async def get_by_id(
    info: strawberry.Info, id: strawberry.ID, type_name: str, loader: str, node_of: NodeOf[T]
) -> T | None:
    """The object a global ID of ``type_name`` names, or None (unknown, or not the caller's)."""
    return await get(info, loader, decode_id(id, type_name), node_of)


async def list_(
    info: strawberry.Info,
    sort: Sort,
    source: Callable[[int], Source],
    node_of: NodeOf[T],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[T]:
    """A connection over ``source(organization id)`` of the caller's organization."""
    org_id = info.context.require_viewer().organization_id
    return await root_connection(
        info, sort, lambda: source(org_id), node_of, first, after, last, before
    )
