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


UPSERT = {
    "CUSTOMER": """mutation($rows: [CustomerUpsertRow!]!) { upsertCustomers(input: {rows: $rows})
      { results { status errors { code field message } } } }""",
    "COMPANY": """mutation($rows: [CompanyUpsertRow!]!) { upsertCompanies(input: {rows: $rows})
      { results { status errors { code field message } } } }""",
}


def _rows(object_type: str, batch: int) -> list[dict[str, object]]:
    # the contested value, and a row of the batch's own that must be written whatever happens
    key = "externalRef" if object_type == "CUSTOMER" else "domain"
    own = f"b{batch}" if object_type == "CUSTOMER" else f"b{batch}.example.com"
    return [{"name": f"Contested {batch}", "customFields": {"member_no": "M-1"},
             key: own + "-contested" if object_type == "CUSTOMER" else f"c{batch}.example.com"},
            {"name": f"Own {batch}", "customFields": {"member_no": f"M-own-{batch}"}, key: own}]


async def test_bulk_upserts_and_single_writes_of_one_unique_value_get_one_success(
        api: Api) -> None:
    # a batch checks each row against the stored records; a concurrent writer of the same value
    # passed that check too: the batch now holds the value's lock and checks again
    for object_type, mutation in UPSERT.items():
        defined = await api.data(DEFINE, input={
            "objectType": object_type, "key": "member_no", "label": "Member no.",
            "type": "TEXT", "unique": True})
        assert defined["defineCustomField"]["errors"] == []
        answers = await asyncio.gather(
            *(api.data(mutation, rows=_rows(object_type, b)) for b in range(4)),
            *(api.data(CREATE[object_type], v="M-1") for _ in range(2)))
        batches = [next(iter(a.values()))["results"] for a in answers[:4]]
        singles = [next(iter(a.values())) for a in answers[4:]]
        contested = [rows[0] for rows in batches]
        won = [r for r in contested if r["status"] == "CREATED"] + [
            s for s in singles if s["errors"] == []]
        assert len(won) == 1, (object_type, contested, singles)
        assert all(r["errors"][0]["code"] == "DUPLICATE" for r in contested
                   if r["status"] != "CREATED"), contested
        assert all(rows[1]["status"] == "CREATED" for rows in batches), batches
        assert all(s["errors"][0]["code"] == "DUPLICATE" for s in singles if s["errors"])
