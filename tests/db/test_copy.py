"""Binary COPY from numpy columns: every supported type arrives as it was, in order."""

from __future__ import annotations

import numpy as np
import pytest
from tortoise.transactions import in_transaction

from db.copy import binary_copy, copy_columns
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
