"""Many rows of numbers into PostgreSQL by binary COPY, built from numpy columns.

asyncpg encodes a parameter array element by element (about half a microsecond each); a
training run writes millions of numbers. Here the COPY stream is one numpy record array in
PostgreSQL's binary format (big-endian fields, each behind its length), so Python does no work
per value.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence

import numpy as np
from tortoise.backends.base.client import BaseDBAsyncClient

from db.sql import client

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
# numpy kind and size -> the big-endian field PostgreSQL's binary format has for that type
FIELDS = {("i", 8): ">i8", ("i", 4): ">i4", ("i", 2): ">i2", ("f", 8): ">f8", ("f", 4): ">f4",
          ("b", 1): "u1"}


ROWS_PER_CHUNK = 50_000  # rows encoded at once: memory follows the chunk, not the table


def binary_copy(columns: Sequence[np.ndarray]) -> Iterator[bytes]:
    """The COPY ... (FORMAT binary) stream of rows made of ``columns`` (equal lengths; integers,
    floats or booleans, no NULLs), in chunks of ``ROWS_PER_CHUNK`` rows."""
    n = len(columns[0]) if columns else 0
    layout: list[tuple[str, str]] = [("count", ">i2")]
    for i, column in enumerate(columns):
        if len(column) != n:
            raise ValueError("columns differ in length")
        field = FIELDS.get((column.dtype.kind, column.dtype.itemsize))
        if field is None:
            raise TypeError(f"no binary COPY field for {column.dtype}")
        layout += [(f"size{i}", ">i4"), (f"value{i}", field)]
    dtype = np.dtype(layout)
    yield HEADER
    for start in range(0, n, ROWS_PER_CHUNK):
        part = slice(start, start + ROWS_PER_CHUNK)
        records = np.empty(len(columns[0][part]), dtype=dtype)
        records["count"] = len(columns)
        for i, column in enumerate(columns):
            records[f"size{i}"] = column.dtype.itemsize
            records[f"value{i}"] = column[part]
        yield records.tobytes()
    yield TRAILER


async def copy_columns(table: str, names: Sequence[str], columns: Sequence[np.ndarray],
                       using: BaseDBAsyncClient | None = None) -> None:
    """Append the rows of ``columns`` to ``table`` (``names``: its columns, in order)."""
    chunks = binary_copy(columns)  # checked before the connection is taken
    first = next(chunks)

    async def stream() -> AsyncIterator[bytes]:
        yield first
        for chunk in chunks:
            yield chunk

    async with client(using).acquire_connection() as connection:
        await connection.copy_to_table(table, source=stream(), columns=list(names),
                                       format="binary")
