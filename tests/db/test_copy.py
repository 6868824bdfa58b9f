"""Binary COPY from numpy columns: every supported type arrives as it was, in order."""

from __future__ import annotations

import numpy as np
import pytest
from tortoise.transactions import in_transaction

from db.copy import ArrayColumn, binary_copy, binary_rows, copy_columns
from db.sql import fetch


async def test_columns_of_every_supported_type_arrive_as_they_were(db: str) -> None:
    columns = [
        np.array([1, -2, 2**62, 0], np.int64), np.array([7, -7, 2**31 - 1, 0], np.int32),
        np.array([3, -3, 32767, 0], np.int16), np.array([0.5, -1e300, np.inf, 1 / 3]),
        np.array([1.5, -2.25, 0.0, 8.0], np.float32), np.array([True, False, True, False]),
    ]
    async with in_transaction() as conn:
        await fetch("CREATE TEMP TABLE copied (a bigint, b integer, c smallint, d float8,"
                    " e real, f bool, n serial) ON COMMIT DROP", [], conn)
        await copy_columns("copied", "abcdef", columns, conn)
        rows = await fetch("SELECT a, b, c, d, e, f FROM copied ORDER BY n", [], conn)
    assert [list(r.values()) for r in rows] == [list(row) for row in zip(
        *(c.tolist() for c in columns), strict=True)]


def test_columns_it_cannot_send_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        list(binary_copy([np.zeros(2, np.int64), np.zeros(3, np.int64)]))
    with pytest.raises(TypeError, match="no binary COPY field"):
        list(binary_copy([np.array(["a"])]))


async def test_rows_beyond_one_chunk_arrive_in_order(db: str, monkeypatch: pytest.MonkeyPatch,
                                                     ) -> None:
    monkeypatch.setattr("db.copy.ROWS_PER_CHUNK", 3)
    values = np.arange(10, dtype=np.int64) * 7
    async with in_transaction() as conn:
        await fetch("CREATE TEMP TABLE chunked (a bigint, n serial) ON COMMIT DROP", [], conn)
        await copy_columns("chunked", ["a"], [values], conn)
        rows = await fetch("SELECT a FROM chunked ORDER BY n", [], conn)
    assert [r["a"] for r in rows] == values.tolist()


async def test_array_columns_arrive_as_they_were_with_nulls_words_and_empty_rows(
        db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("db.copy.ROWS_PER_CHUNK", 2)  # rows and their elements across chunks
    counts = np.array([3, 0, 1, 2, 4])
    ids = np.arange(int(counts.sum()), dtype=np.int64) * 10 - 5
    missing = np.array([False, True, False, False, True, True, False, False, True, False])
    words = ("BOUGHT_WITH", "POPULAR", "ÉTÉ", "")
    columns = [
        np.array([11, 22, 33, 44, 55], np.int64),
        ArrayColumn(ids, counts),
        ArrayColumn(ids.astype(np.float64) / 3, counts),
        ArrayColumn(ids, counts, nulls=missing),
        ArrayColumn(np.array([0, 1, 2, 3, 0, 1, 2, 3, 0, 1]), counts, words=words),
        ArrayColumn(ids % 20 == 5, counts),
        np.array([True, False, True, True, False]),
    ]
    async with in_transaction() as conn:
        await fetch("CREATE TEMP TABLE arrays (a bigint, b bigint[], c float8[], d bigint[],"
                    " e text[], f bool[], g bool, n serial) ON COMMIT DROP", [], conn)
        await copy_columns("arrays", "abcdefg", columns, conn)
        rows = await fetch("SELECT a, b, c, d, e, f, g FROM arrays ORDER BY n", [], conn)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    expected = []
    for i in range(5):
        part = slice(bounds[i], bounds[i + 1])
        expected.append({
            "a": int(columns[0][i]), "b": ids[part].tolist(), "c": (ids[part] / 3).tolist(),
            "d": [None if m else v for v, m in zip(ids[part].tolist(), missing[part],
                                                    strict=True)],
            "e": [words[k] for k in [0, 1, 2, 3, 0, 1, 2, 3, 0, 1][part]],
            "f": (ids[part] % 20 == 5).tolist(), "g": bool(columns[6][i]),
        })
    assert [dict(r) for r in rows] == expected


def test_array_columns_whose_counts_do_not_add_up_are_refused() -> None:
    with pytest.raises(ValueError, match="do not add up"):
        list(binary_rows([ArrayColumn(np.zeros(3, np.int64), np.array([1, 1]))]))
    with pytest.raises(ValueError, match="differ in length"):
        list(binary_rows([np.zeros(2, np.int64), ArrayColumn(np.zeros(1), np.array([1]))]))
