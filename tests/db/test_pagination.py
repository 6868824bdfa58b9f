"""Cursor encoding and Relay argument checks (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.errors import AppError
from db.pagination import Page, PageArgs, Sort, decode_cursor, encode_cursor, finish, page_args

CREATED = Sort("CREATED_AT_DESC", "t.created_at", "datetime", descending=True)
NAME = Sort("NAME_ASC", "lower(t.name)", "text", descending=False)


def test_cursor_round_trip() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    cursor = encode_cursor(CREATED, {"sort_key": at, "id": 42})
    assert decode_cursor(CREATED, cursor, "after") == (at, 42)
    assert decode_cursor(NAME, encode_cursor(NAME, {"sort_key": "张三", "id": 7}), "after") == (
        "张三", 7)


def test_cursor_of_another_ordering_is_refused() -> None:
    cursor = encode_cursor(NAME, {"sort_key": "x", "id": 1})
    with pytest.raises(AppError) as raised:
        decode_cursor(CREATED, cursor, "before")
    assert raised.value.field == ("before",)


def test_page_args_defaults_and_directions() -> None:
    args = page_args(NAME, first=None, after=None, last=None, before=None,
                     default_size=20, max_size=100)
    assert args == PageArgs(limit=20, backward=False, after=None, before=None)
    before = encode_cursor(NAME, {"sort_key": "m", "id": 3})
    assert page_args(NAME, first=None, after=None, last=None, before=before,
                     default_size=20, max_size=100).backward is True
    assert page_args(NAME, first=0, after=None, last=None, before=None,
                     default_size=20, max_size=100).limit == 0


def test_finish_trims_probe_row_and_restores_order() -> None:
    rows = [{"id": n} for n in (5, 4, 3)]
    forward = PageArgs(limit=2, backward=False, after=None, before=None)
    assert finish(rows, forward) == Page([{"id": 5}, {"id": 4}], True, False)
    backward = PageArgs(limit=2, backward=True, after=None, before=("x", 1))
    assert finish(rows, backward) == Page([{"id": 4}, {"id": 5}], True, True)
