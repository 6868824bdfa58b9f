"""Keyset pagination: opaque cursors and the SQL that seeks to them (no OFFSET scans)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import orjson

from core.errors import AppError, ErrorCode
from db.sql import Params, Row, fetch, fetch_one, fetch_rows

SortKind = Literal["datetime", "text", "number", "decimal"]


@dataclass(frozen=True)
class Sort:
    """An ordering: a sort expression then the id, both in the same direction (index-friendly)."""

    name: str
    expr: str
    kind: SortKind
    descending: bool


@dataclass(frozen=True)
class PageArgs:
    """Validated Relay arguments: how many rows, in which direction, after/before which key."""

    limit: int
    backward: bool
    after: tuple[Any, int] | None
    before: tuple[Any, int] | None


@dataclass(frozen=True)
class Page:
    """One page of rows in display order, with what lies beyond it."""

    rows: list[Row]
    has_next: bool
    has_previous: bool


def encode_cursor(sort: Sort, row: Row) -> str:
    """The opaque cursor of ``row`` under ``sort`` (the row must carry ``sort_key`` and ``id``)."""
    key = row["sort_key"]
    value = key.isoformat() if isinstance(key, datetime) else key
    if isinstance(value, Decimal):
        value = str(value)  # exactly: a float could fall between two stored amounts
    raw = orjson.dumps([sort.name, value, row["id"]])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: Sort, cursor: str, field: str) -> tuple[Any, int]:
    """The key a cursor points at; a malformed cursor or one of another ordering is a user error."""
    invalid = AppError(ErrorCode.BAD_USER_INPUT, f"{field} is not a valid cursor", [field])
    if len(cursor) > 512:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, value, row_id = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise invalid from None
    if name != sort.name or not isinstance(row_id, int) or isinstance(row_id, bool):
        raise invalid
    if sort.kind == "datetime":
        try:
            value = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise invalid from None
    elif sort.kind == "decimal":
        try:
            value = Decimal(value) if isinstance(value, str) else None
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            raise invalid
    elif sort.kind == "number":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise invalid
    elif not isinstance(value, str):
        raise invalid
    return value, row_id


def page_args(
    sort: Sort,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    default_size: int,
    max_size: int,
) -> PageArgs:
    """Validate Relay arguments: sizes within bounds, not both ``first`` and ``last``."""
    if first is not None and last is not None:
        raise AppError(
            ErrorCode.BAD_USER_INPUT, "pass either first or last, not both", ["first"]
        )
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= max_size:
            raise AppError(
                ErrorCode.BAD_USER_INPUT, f"{name} must be between 0 and {max_size}", [name]
            )
    backward = last is not None or (first is None and before is not None)
    size = last if backward else first
    return PageArgs(
        limit=default_size if size is None else size,
        backward=backward,
        after=decode_cursor(sort, after, "after") if after is not None else None,
        before=decode_cursor(sort, before, "before") if before is not None else None,
    )


def seek_sql(sort: Sort, args: PageArgs, params: Params, id_expr: str) -> tuple[str, str]:
    """The WHERE conditions (``AND ...``, maybe empty) and ORDER BY clause for a page."""
    conditions = []
    for key, is_after in ((args.after, True), (args.before, False)):
        if key is None:
            continue
        # "after" in a descending order means smaller keys
        op = "<" if is_after == sort.descending else ">"
        conditions.append(
            f" AND ({sort.expr}, {id_expr}) {op} ({params.add(key[0])}, {params.add(key[1])})"
        )
    descending = sort.descending != args.backward
    direction = "DESC" if descending else "ASC"
    order = f"ORDER BY {sort.expr} {direction}, {id_expr} {direction}"
    return "".join(conditions), order


def finish(rows: Sequence[Row], args: PageArgs) -> Page:
    """Trim the probe row (``limit + 1`` were fetched) and restore display order."""
    more = len(rows) > args.limit
    kept = list(rows[: args.limit])
    if args.backward:
        kept.reverse()
        return Page(kept, has_next=args.before is not None, has_previous=more)
    return Page(kept, has_next=more, has_previous=args.after is not None)


@dataclass(frozen=True)
class Source:
    """What to page over: ``FROM`` clause (aliased ``t``), selected columns and the filter."""

    table: str
    columns: str
    where: str
    params: Params


async def fetch_page(source: Source, sort: Sort, args: PageArgs) -> Page:
    """One keyset page of ``source``."""
    params = source.params
    seek, order = seek_sql(sort, args, params, "t.id")
    sql = (
        f"SELECT {source.columns}, {sort.expr} AS sort_key FROM {source.table} t"
        f" WHERE {source.where}{seek} {order} LIMIT {params.add(args.limit + 1)}"
    )
    return finish(await fetch_rows(sql, params.values), args)


async def fetch_pages_by_parent(
    source: Source, parent_column: str, parent_ids: Sequence[int], sort: Sort, args: PageArgs
) -> dict[int, Page]:
    """A keyset page for each parent in one statement (a LATERAL join), keyed by parent id."""
    params = source.params
    ids = params.add(list(parent_ids))
    seek, order = seek_sql(sort, args, params, "t.id")
    sql = (
        f"SELECT x.* FROM unnest({ids}::bigint[]) AS p(parent_id) CROSS JOIN LATERAL ("
        f"SELECT {source.columns}, {sort.expr} AS sort_key FROM {source.table} t"
        f" WHERE t.{parent_column} = p.parent_id AND {source.where}{seek} {order}"
        f" LIMIT {params.add(args.limit + 1)}) x"
    )
    grouped: dict[int, list[Row]] = {parent_id: [] for parent_id in parent_ids}
    for row in await fetch_rows(sql, params.values):
        grouped[row[parent_column]].append(row)
    return {parent_id: finish(rows, args) for parent_id, rows in grouped.items()}


async def count(source: Source) -> int:
    """How many rows ``source`` holds, ignoring any cursor."""
    row = await fetch_one(
        f"SELECT count(*) AS n FROM {source.table} t WHERE {source.where}", source.params.values
    )
    return int(row["n"]) if row else 0


async def count_by_parent(
    source: Source, parent_column: str, parent_ids: Sequence[int]
) -> dict[int, int]:
    """How many rows each parent holds, in one statement."""
    ids = source.params.add(list(parent_ids))
    rows = await fetch(
        f"SELECT t.{parent_column} AS parent_id, count(*) AS n FROM {source.table} t"
        f" WHERE t.{parent_column} = ANY({ids}::bigint[]) AND {source.where}"
        f" GROUP BY t.{parent_column}",
        source.params.values,
    )
    counts = dict.fromkeys(parent_ids, 0)
    counts.update({row["parent_id"]: int(row["n"]) for row in rows})
    return counts
