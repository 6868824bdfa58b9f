"""Keyset pagination through the API: cursors, directions, bounds and bad input."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import orjson

from db.models import Customer
from tests.factories import make_customer

PAGE = """
query($first: Int, $after: String, $last: Int, $before: String, $orderBy: CustomerOrderBy) {
  customers(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    totalCount
    edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def _customers(org, count: int) -> list[Customer]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = []
    for n in range(count):
        customer = await make_customer(org, name=f"c{n:02d}")
        # equal timestamps in pairs: the id breaks ties
        customer.created_at = start + timedelta(minutes=n // 2)
        await customer.save(update_fields=["created_at"])
        made.append(customer)
    return made


def _names(data: dict) -> list[str]:
    return [e["node"]["name"] for e in data["customers"]["edges"]]


async def test_forward_pages_cover_everything_once(api, org) -> None:
    await _customers(org, 7)
    seen: list[str] = []
    after = None
    while True:
        data = await api.data(PAGE, first=3, after=after)
        seen += _names(data)
        info = data["customers"]["pageInfo"]
        assert data["customers"]["totalCount"] == 7
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == [f"c{n:02d}" for n in reversed(range(7))]


async def test_backward_pages(api, org) -> None:
    await _customers(org, 5)
    last = await api.data(PAGE, last=2)
    assert _names(last) == ["c01", "c00"]
    assert last["customers"]["pageInfo"]["hasPreviousPage"] is True
    before = await api.data(PAGE, last=2, before=last["customers"]["pageInfo"]["startCursor"])
    assert _names(before) == ["c03", "c02"]


async def test_cursor_is_stable_when_rows_are_inserted(api, org) -> None:
    await _customers(org, 4)
    first = await api.data(PAGE, first=2)
    cursor = first["customers"]["pageInfo"]["endCursor"]
    await make_customer(org, name="newest")  # sorts first: created now
    following = await api.data(PAGE, first=2, after=cursor)
    assert _names(following) == ["c01", "c00"]


async def test_name_ordering(api, org) -> None:
    for name in ("beta", "Alpha", "gamma"):
        await make_customer(org, name=name)
    asc = await api.data(PAGE, first=2, orderBy="NAME_ASC")
    assert _names(asc) == ["Alpha", "beta"]
    rest = await api.data(
        PAGE, first=2, after=asc["customers"]["pageInfo"]["endCursor"], orderBy="NAME_ASC"
    )
    assert _names(rest) == ["gamma"]


async def _error(api, **variables) -> dict:
    body = await api(PAGE, **variables)
    assert body["data"] is None
    (error,) = body["errors"]
    return error


async def test_oversize_and_negative_pages_are_refused(api) -> None:
    error = await _error(api, first=101)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": ["first"]}
    assert "between 0 and 100" in error["message"]
    assert (await _error(api, last=-1))["extensions"]["field"] == ["last"]
    assert (await _error(api, first=1, last=1))["extensions"]["code"] == "BAD_USER_INPUT"


async def test_malformed_cursors_are_refused(api) -> None:
    foreign = base64.urlsafe_b64encode(orjson.dumps(["NAME_ASC", "x", 1])).decode()
    wrong_type = base64.urlsafe_b64encode(orjson.dumps(["CREATED_AT_DESC", "nope", 1])).decode()
    for cursor in ("garbage!", "", "a" * 600, foreign, wrong_type, "W10"):
        error = await _error(api, first=1, after=cursor)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": ["after"]}, cursor


async def test_nested_page_size_is_bounded_too(api, org) -> None:
    await make_customer(org)
    body = await api("{ customers { nodes { interactions(first: 500) { totalCount } } } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
