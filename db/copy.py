"""Many rows of numbers into PostgreSQL by binary COPY, built from numpy columns.

asyncpg encodes a parameter array element by element (about half a microsecond each); a
training run writes millions of numbers. Here the COPY stream is one numpy record array in
PostgreSQL's binary format (big-endian fields, each behind its length), so Python does no work
per value. Array columns (``ArrayColumn``: one array per row, NULL elements and text elements
from a small vocabulary allowed) are encoded element-wise by numpy too; Python only joins each
row's pieces.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from tortoise.backends.base.client import BaseDBAsyncClient

from db.sql import client

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
# numpy kind and size -> the big-endian field PostgreSQL's binary format has for that type
FIELDS = {("i", 8): ">i8", ("i", 4): ">i4", ("i", 2): ">i2", ("f", 8): ">f8", ("f", 4): ">f4",
          ("b", 1): "u1"}


# element type of an array column, by numpy kind and size (and text for a vocabulary)
ELEMENT_OIDS = {("i", 8): 20, ("i", 4): 23, ("i", 2): 21, ("f", 8): 701, ("f", 4): 700,
                ("b", 1): 16}
TEXT_OID = 25
ROWS_PER_CHUNK = 50_000  # rows encoded at once: memory follows the chunk, not the table


@dataclass(frozen=True)
class ArrayColumn:
    """An array column: row ``i`` holds the next ``counts[i]`` of ``values`` (rows one after
    another). ``nulls`` marks NULL elements; with ``words``, ``values`` are indexes into them
    and the column is ``text[]``."""

    values: np.ndarray
    counts: np.ndarray
    nulls: np.ndarray | None = None
    words: Sequence[str] | None = None

    def __len__(self) -> int:
        return len(self.counts)


def _field(column: np.ndarray) -> str:
    field = FIELDS.get((column.dtype.kind, column.dtype.itemsize))
    if field is None:
        raise TypeError(f"no binary COPY field for {column.dtype}")
    return field


def _sized(values: np.ndarray) -> np.ndarray:
    """``values`` as binary COPY fields: each one's length, then the value (big-endian)."""
    records = np.empty(len(values), np.dtype([("size", ">i4"), ("value", _field(values))]))
    records["size"], records["value"] = values.dtype.itemsize, values
    return records


def _elements(column: ArrayColumn, first: int, last: int) -> tuple[bytes, np.ndarray, int]:
    """The encoded elements ``first:last`` (length + value each, back to back), each one's
    size in bytes, and the element type's oid."""
    values = column.values[first:last]
    if column.words is not None:
        encoded = [w.encode() for w in column.words]
        width = 4 + max((len(w) for w in encoded), default=0)
        table = np.zeros((len(encoded), width), np.uint8)
        for row, word in enumerate(encoded):
            table[row, :4] = np.frombuffer(len(word).to_bytes(4, "big"), np.uint8)
            table[row, 4:4 + len(word)] = np.frombuffer(word, np.uint8)
        matrix = table[values]
        used = np.array([4 + len(w) for w in encoded], np.int64)[values]
        oid = TEXT_OID
    else:
        records = _sized(values)
        matrix = records.view(np.uint8).reshape(len(values), records.dtype.itemsize).copy()
        used = np.full(len(values), records.dtype.itemsize, np.int64)
        oid = ELEMENT_OIDS[(values.dtype.kind, values.dtype.itemsize)]
    if column.nulls is not None:
        nulls = np.asarray(column.nulls[first:last], bool)
        matrix[nulls, :4] = np.frombuffer((-1).to_bytes(4, "big", signed=True), np.uint8)
        used[nulls] = 4
    keep = np.arange(matrix.shape[1])[None, :] < used[:, None]
    return matrix[keep].tobytes(), used, oid


def _array_pieces(column: ArrayColumn, rows: slice, first: int) -> tuple[list[bytes], int]:
    """Each row's field (size, array header, elements) for ``rows``, and the next element."""
    counts = np.asarray(column.counts[rows], np.int64)
    last = first + int(counts.sum())
    data, used, oid = _elements(column, first, last)
    owner = np.repeat(np.arange(len(counts)), counts)
    sizes = np.bincount(owner, weights=used, minlength=len(counts)).astype(np.int64)
    nulls = np.zeros(len(counts), bool) if column.nulls is None else np.bincount(
        owner, weights=np.asarray(column.nulls[first:last], bool), minlength=len(counts)) > 0
    header = np.empty(len(counts), np.dtype([(n, ">i4") for n in
                                             ("size", "ndim", "nulls", "oid", "dim", "base")]))
    header["size"], header["ndim"], header["nulls"] = 20 + sizes, 1, nulls
    header["oid"], header["dim"], header["base"] = oid, counts, 1
    heads = header.tobytes()
    ends = np.cumsum(sizes).tolist()
    starts = [0, *ends[:-1]]
    return [heads[24 * i:24 * i + 24] + data[a:b]
            for i, (a, b) in enumerate(zip(starts, ends, strict=True))], last


def binary_rows(columns: Sequence[np.ndarray | ArrayColumn]) -> Iterator[bytes]:
    """The COPY ... (FORMAT binary) stream of rows made of ``columns``: plain columns as in
    ``binary_copy`` and array columns (``ArrayColumn``), in chunks of ``ROWS_PER_CHUNK``."""
    n = len(columns[0]) if columns else 0
    if any(len(column) != n for column in columns):
        raise ValueError("columns differ in length")
    for column in columns:
        if isinstance(column, ArrayColumn) and len(column.values) != int(column.counts.sum()):
            raise ValueError("an array column's counts do not add up to its values")
    yield HEADER
    next_element = [0] * len(columns)
    count = len(columns).to_bytes(2, "big")
    for start in range(0, n, ROWS_PER_CHUNK):
        part = slice(start, min(start + ROWS_PER_CHUNK, n))
        fields: list[list[bytes]] = []
        for i, column in enumerate(columns):
            if isinstance(column, ArrayColumn):
                pieces, next_element[i] = _array_pieces(column, part, next_element[i])
                fields.append(pieces)
            else:
                records = _sized(column[part])
                whole, width = records.tobytes(), records.dtype.itemsize
                fields.append([whole[width * r:width * r + width] for r in range(len(records))])
        yield b"".join(count + b"".join(row) for row in zip(*fields, strict=True))
    yield TRAILER


def binary_copy(columns: Sequence[np.ndarray]) -> Iterator[bytes]:
    """The COPY ... (FORMAT binary) stream of rows made of ``columns`` (equal lengths; integers,
    floats or booleans, no NULLs), in chunks of ``ROWS_PER_CHUNK`` rows."""
    n = len(columns[0]) if columns else 0
    layout: list[tuple[str, str]] = [("count", ">i2")]
    for i, column in enumerate(columns):
        if len(column) != n:
            raise ValueError("columns differ in length")
        layout += [(f"size{i}", ">i4"), (f"value{i}", _field(column))]
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


async def copy_columns(table: str, names: Sequence[str],
                       columns: Sequence[np.ndarray | ArrayColumn],
                       using: BaseDBAsyncClient | None = None) -> None:
    """Append the rows of ``columns`` to ``table`` (``names``: its columns, in order)."""
    plain = [c for c in columns if not isinstance(c, ArrayColumn)]
    # checked before the connection is taken
    chunks = binary_copy(plain) if len(plain) == len(columns) else binary_rows(columns)
    first = next(chunks)

    async def stream() -> AsyncIterator[bytes]:
        yield first
        for chunk in chunks:
            yield chunk

    async with client(using).acquire_connection() as connection:
        await connection.copy_to_table(table, source=stream(), columns=list(names),
                                       format="binary")
