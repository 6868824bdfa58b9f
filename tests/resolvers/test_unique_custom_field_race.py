"""A unique custom field holds under concurrent writes: of several requests writing one value at
the same moment, exactly one succeeds; the others get DUPLICATE and write nothing."""

from __future__ import annotations

import asyncio

from tests.factories import Api

DEFINE = """mutation($input: DefineCustomFieldInput!) { defineCustomField(input: $input) {
  errors { message } } }"""
CREATE = {
    "CUSTOMER": """mutation($v: String!) { createCustomer(input: {name: "Racer",
      customFields: {member_no: $v}}) { customer { id } errors { code field message } } }""",
    "COMPANY": """mutation($v: String!) { createCompany(input: {name: "Racer Ltd",
      customFields: {member_no: $v}}) { company { id } errors { code field message } } }""",
    "DEAL": """mutation($v: String!) { createDeal(input: {name: "Race", amount: "1",
      customFields: {member_no: $v}}) { deal { id } errors { code field message } } }""",
}


async def test_concurrent_writers_of_one_unique_value_get_one_success(api: Api) -> None:
    for object_type, mutation in CREATE.items():
        defined = await api.data(DEFINE, input={
            "objectType": object_type, "key": "member_no", "label": "Member no.",
            "type": "TEXT", "unique": True})
        assert defined["defineCustomField"]["errors"] == []
        answers = await asyncio.gather(*(api.data(mutation, v="M-1") for _ in range(6)))
        payloads = [next(iter(a.values())) for a in answers]
        made = [p for p in payloads if p["errors"] == []]
        refused = [p for p in payloads if p["errors"]]
        assert len(made) == 1, (object_type, payloads)
        assert all(p["errors"] == [{
            "code": "DUPLICATE", "field": ["input", "customFields", "member_no"],
            "message": "another record has this Member no."}] for p in refused), refused
