"""Duplicate detection through the GraphQL endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from db import duplicate as duplicates
from tests.factories import Api, gid, make_customer, make_org
from tests.security_helpers import make_key

CANDIDATES = """query($id: ID!, $first: Int, $minScore: Float) {
  customerDuplicates(customerId: $id, first: $first, minScore: $minScore) {
    customer { id email } score reasons { signal similarity }
  }
}"""
PAIRS = """query($first: Int, $after: String, $minScore: Float) {
  findDuplicateCustomers(first: $first, after: $after, minScore: $minScore) {
    edges { cursor node { customer { id } duplicate { id } score reasons { signal } } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}"""


def _codes(body: dict[str, Any]) -> set[str]:
    return {e["extensions"]["code"] for e in body.get("errors") or []}


async def test_customer_duplicates_lists_candidates_with_reasons(api, org) -> None:  # type: ignore[no-untyped-def]
    jane = await make_customer(org, name="Jane Doe", email="jane.doe@gmail.com")
    twin = await make_customer(org, name="Jane Doe", email="JaneDoe+shop@googlemail.com")
    await make_customer(org, name="Ivan Petrov", email="ivan@example.com")

    found = (await api.data(CANDIDATES, id=gid(jane)))["customerDuplicates"]

    assert found == [{
        "customer": {"id": gid(twin), "email": "JaneDoe+shop@googlemail.com"}, "score": 0.95,
        "reasons": [{"signal": "EMAIL", "similarity": 1.0}, {"signal": "NAME", "similarity": 1.0}],
    }]


async def test_customer_duplicates_refuses_unknown_and_other_tenants_ids(api) -> None:  # type: ignore[no-untyped-def]
    stranger = await make_customer(await make_org(), name="Jane Doe")

    body = await api(CANDIDATES, id=gid(stranger))

    assert _codes(body) == {"NOT_FOUND"}
    assert _codes(await api(CANDIDATES, id=gid(stranger), first=51)) == {"BAD_USER_INPUT"}


@pytest.mark.parametrize("window", [2000, 3])
async def test_find_duplicates_walks_every_pair_once(api, org, monkeypatch, window: int) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(duplicates, "WINDOW", window)  # 3: pages look at 3 customers each
    people = [await make_customer(org, name="Max Power", email=f"max{i}@example.com",
                                  postal_code="1010") for i in range(4)]
    phone = [await make_customer(org, name=f"Caller {n}", phone="+33612345678",
                                 email=f"{n}@example.com") for n in ("one", "two")]
    await make_customer(org, name="Nobody Alike")
    await make_customer(org, name="Max Power", postal_code="8010")  # a shared name is not enough
    other = await make_org()
    await make_customer(other, name="Max Power")
    ids = [gid(c) for c in people]
    expected = [(ids[i], ids[j]) for i in range(4) for j in range(i + 1, 4)]
    expected.append((gid(phone[0]), gid(phone[1])))

    walked: list[tuple[str, str]] = []
    after = None
    while True:
        page = (await api.data(PAIRS, first=4, after=after))["findDuplicateCustomers"]
        walked += [(e["node"]["customer"]["id"], e["node"]["duplicate"]["id"])
                   for e in page["edges"]]
        assert page["totalCount"] == 7
        assert len(page["edges"]) <= 4
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert walked == expected


async def test_find_duplicates_checks_its_arguments(api) -> None:  # type: ignore[no-untyped-def]
    assert _codes(await api(PAIRS, after="not-a-cursor")) == {"BAD_USER_INPUT"}
    assert _codes(await api(PAIRS, minScore=1.5)) == {"BAD_USER_INPUT"}
    assert _codes(await api(PAIRS, first=101)) == {"BAD_USER_INPUT"}


async def test_keys_without_pii_read_see_candidates_masked(http, org) -> None:  # type: ignore[no-untyped-def]
    jane = await make_customer(org, name="Jane Doe", email="jane@example.com")
    await make_customer(org, name="Jane Doe", email="jane+1@example.com")
    key = await make_key(org.id, ("customers:read",))

    found = (await Api(http, key).data(CANDIDATES, id=gid(jane)))["customerDuplicates"]

    assert found[0]["customer"]["email"] == "j***@example.com"
