"""The upsertCustomers mutation (and its deprecated name importCustomers) through GraphQL."""

from __future__ import annotations

from typing import Any

from db.enums import Role
from db.models import Customer
from tests.factories import Api, gid, make_customer, make_org, make_user, token_for

UPSERT = """
mutation($input: UpsertCustomersInput!) {
  upsertCustomers(input: $input) {
    results {
      index status
      customer { id name email phone externalRef address { city country } tags stage }
      errors { code field message }
    }
    created updated unchanged failed
    errors { code field message }
  }
}"""


async def run(api: Api, rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    data = await api.data(UPSERT, input={"rows": rows, **extra})
    payload: dict[str, Any] = data["upsertCustomers"]
    return payload


async def test_reports_each_row(api, org) -> None:
    kept = await make_customer(org, external_ref="K-1", name="Kept", email="kept@example.com")
    changed = await make_customer(org, external_ref="K-2", name="Old")
    payload = await run(api, [
        {"externalRef": "N-1", "name": "张三", "email": "zhang@example.com",
         "address": {"city": "北京市", "country": "cn"}, "tags": ["vip"]},
        {"externalRef": "K-1", "name": "Kept", "email": "kept@example.com"},
        {"externalRef": "K-2", "name": "New", "stage": "CUSTOMER"},
        {"externalRef": "N-2", "name": "Bad", "email": "nope"},
    ])

    assert [r["status"] for r in payload["results"]] == [
        "CREATED", "UNCHANGED", "UPDATED", "FAILED"]
    assert (payload["created"], payload["updated"], payload["unchanged"], payload["failed"]) == (
        1, 1, 1, 1)
    assert payload["errors"] == []
    created = payload["results"][0]["customer"]
    assert (created["name"], created["address"], created["tags"]) == (
        "张三", {"city": "北京市", "country": "CN"}, ["vip"])
    assert payload["results"][1]["customer"]["id"] == gid(kept)
    failed = payload["results"][3]
    assert (failed["customer"], [e["field"] for e in failed["errors"]]) == (
        None, [["input", "rows", "3", "email"]])
    await changed.refresh_from_db()
    assert (changed.name, changed.stage) == ("New", "CUSTOMER")
    refs = await Customer.filter(organization=org).values_list("external_ref", flat=True)
    assert sorted(refs) == ["K-1", "K-2", "N-1"]


async def test_more_than_a_thousand_rows_write_nothing(api, org) -> None:
    rows = [{"externalRef": f"R-{i}", "name": f"Row {i}"} for i in range(1_001)]
    payload = await run(api, rows)
    assert payload["results"] == []
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("BAD_USER_INPUT", ["input", "rows"])]
    assert await Customer.filter(organization=org).count() == 0


async def test_unique_conflict_fails_only_its_row(api, org) -> None:
    await make_customer(org, email="taken@example.com")
    payload = await run(api, [
        {"externalRef": "U-1", "name": "One", "email": "TAKEN@example.com"},
        {"externalRef": "U-2", "name": "Two", "email": "two@example.com"},
    ])
    assert [r["status"] for r in payload["results"]] == ["FAILED", "CREATED"]
    assert payload["results"][0]["errors"] == [{
        "code": "DUPLICATE", "field": ["input", "rows", "0", "email"],
        "message": "a customer with this email already exists",
    }]
    assert await Customer.filter(organization=org, external_ref__in=["U-1", "U-2"]).count() == 1


async def test_match_on_email(api, org) -> None:
    customer = await make_customer(org, email="mia@example.com", external_ref=None)
    payload = await run(api, [{"email": "mia@example.com", "externalRef": "M-9"}],
                        matchOn="EMAIL")
    assert payload["results"][0]["status"] == "UPDATED"
    await customer.refresh_from_db()
    assert customer.external_ref == "M-9"


async def test_other_organization_is_untouched(api, org) -> None:
    other = await make_org()
    theirs = await make_customer(other, external_ref="SHARED", name="Theirs",
                                 email="shared@example.com")
    payload = await run(api, [{"externalRef": "SHARED", "name": "Ours",
                               "email": "shared@example.com"}])
    assert payload["results"][0]["status"] == "CREATED"
    await theirs.refresh_from_db()
    assert (theirs.name, theirs.email) == ("Theirs", "shared@example.com")
    assert await Customer.filter(organization=other).count() == 1


async def test_viewers_may_not_import(http, org, settings) -> None:
    viewer = Api(http, token_for(await make_user(org, role=Role.VIEWER), settings))
    body = await viewer(UPSERT, input={"rows": [{"externalRef": "V-1", "name": "V"}]})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await Customer.filter(organization=org).count() == 0


async def test_import_customers_is_the_deprecated_name_of_upsert(api, org) -> None:
    data = await api.data("""mutation($input: ImportCustomersInput!) {
        importCustomers(input: $input) { created results { status customer { name } } } }""",
        input={"rows": [{"externalRef": "I-1", "name": "Imported"}]})
    assert data["importCustomers"] == {
        "created": 1, "results": [{"status": "CREATED", "customer": {"name": "Imported"}}]}
    fields = await api.data("""{ __type(name: "Mutation") {
        fields(includeDeprecated: true) { name isDeprecated deprecationReason } } }""")
    deprecated = {f["name"]: f["deprecationReason"] for f in fields["__type"]["fields"]
                  if f["isDeprecated"]}
    assert deprecated == {"importCustomers": "Use upsertCustomers (same input)."}


def _row(i: int, **fields: Any) -> dict[str, Any]:
    return {"externalRef": f"E-{i}", "name": f"Row {i}"} | fields


async def test_failed_rows_keep_their_codes_paths_and_messages(api, org) -> None:
    rows = [_row(i) for i in range(9)]
    rows[0] |= {"kind": "COMPANY", "customFields": {"erp": {"id": 7}}, "emailOptOut": True,
                "tags": [" vip ", "VIP", "b2b"], "phone": "+49 30 1234567"}
    rows[1] |= {"address": {"street": "Hauptstraße 1", "postalCode": "10115", "country": "de"}}
    rows[2] |= {"address": None, "stage": "LEAD", "email": None}
    rows[3] |= {"email": "not-an-email"}
    rows[4] |= {"address": {"country": "XX"}, "phone": "12"}
    rows[5] = {"name": "No key"}
    rows[7] = {"externalRef": "E-7", "email": "seven@example.com"}
    rows[8] |= {"tags": ["ok", ""]}
    payload = await run(api, rows)

    assert payload["errors"] == []
    assert [(r["index"], r["status"]) for r in payload["results"]] == [
        (0, "CREATED"), (1, "CREATED"), (2, "CREATED"), (3, "FAILED"), (4, "FAILED"),
        (5, "FAILED"), (6, "CREATED"), (7, "FAILED"), (8, "FAILED")]
    assert {r["index"]: r["errors"] for r in payload["results"] if r["errors"]} == {
        3: [{"code": "BAD_USER_INPUT", "field": ["input", "rows", "3", "email"],
             "message": "is not a valid email address: An email address must have an @-sign."}],
        4: [{"code": "BAD_USER_INPUT", "field": ["input", "rows", "4", "address", "country"],
             "message": "must be an ISO 3166-1 alpha-2 country code such as DE or CN"},
            {"code": "BAD_USER_INPUT", "field": ["input", "rows", "4", "phone"],
             "message": "is not a valid phone number"}],
        5: [{"code": "BAD_USER_INPUT", "field": ["input", "rows", "5", "externalRef"],
             "message": "an external reference or an email is needed to match the row"}],
        7: [{"code": "BAD_USER_INPUT", "field": ["input", "rows", "7", "name"],
             "message": "is required"}],
        8: [{"code": "BAD_USER_INPUT", "field": ["input", "rows", "8", "tags"],
             "message": "each tag must be 1 to 50 printable characters"}],
    }
    assert [r["customer"] is None for r in payload["results"]] == [
        False, False, False, True, True, True, False, True, True]
    stored = {c.external_ref: c for c in await Customer.filter(organization=org)}
    assert sorted(stored) == ["E-0", "E-1", "E-2", "E-6"]
    first, second = stored["E-0"], stored["E-1"]
    assert (first.kind, first.custom_fields, first.email_opt_out, first.tags, first.phone) == (
        "COMPANY", {"erp": {"id": 7}}, True, ["vip", "b2b"], "+49301234567")
    assert (second.street, second.postal_code, second.country, second.city) == (
        "Hauptstraße 1", "10115", "DE", None)
    assert (stored["E-2"].stage, stored["E-2"].email) == ("LEAD", None)


async def test_rows_written_inline_are_read_like_variables(api, org) -> None:
    body = await api("""mutation { upsertCustomers(input: {matchOn: EMAIL, rows: [
        {email: "a@example.com", name: "A", address: {city: "Köln"}, tags: ["x"]},
        {email: "b@example", name: "B"}]}) {
      results { index status customer { name address { city } tags } errors { field message } }
    } }""")
    results = body["data"]["upsertCustomers"]["results"]
    assert results == [
        {"index": 0, "status": "CREATED", "errors": [],
         "customer": {"name": "A", "address": {"city": "Köln"}, "tags": ["x"]}},
        {"index": 1, "status": "FAILED", "customer": None, "errors": [{
            "field": ["input", "rows", "1", "email"],
            "message": "is not a valid email address: The part after the @-sign is not valid. "
                       "It should have a period."}]},
    ]
    assert await Customer.filter(organization=org).count() == 1


async def test_a_value_of_the_wrong_type_fails_the_whole_call(api, org) -> None:
    body = await api(UPSERT, input={"rows": [_row(0), _row(1, tags="vip", stage="NOPE")]})
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == [
        "Variable '$input' has invalid value at .rows[1].stage: "
        "Value 'NOPE' does not exist in 'LifecycleStage' enum."]
    assert await Customer.filter(organization=org).count() == 0


async def test_a_constraint_validation_did_not_foresee_fails_only_its_row(api, org) -> None:
    from db.sql import fetch

    rule = f"test_refuse_{org.id}"
    await fetch(f"ALTER TABLE customer ADD CONSTRAINT {rule} CHECK (name <> 'Refused {org.id}')")
    try:
        data = await api.data(
            """mutation($rows: [CustomerUpsertRow!]!) {
                 upsertCustomers(input: {rows: $rows, matchOn: EXTERNAL_REF}) {
                   results { index status errors { code field message } } } }""",
            rows=[{"externalRef": f"ok-{org.id}", "name": "Fine"},
                  {"externalRef": f"no-{org.id}", "name": f"Refused {org.id}"}],
        )
    finally:
        await fetch(f"ALTER TABLE customer DROP CONSTRAINT {rule}")
    ok, refused = data["upsertCustomers"]["results"]
    assert ok["status"] == "CREATED"
    assert refused["status"] == "FAILED"
    assert refused["errors"] == [{"code": "BAD_USER_INPUT", "field": ["input", "rows", "1"],
                                  "message": f"the database refused this row ({rule})"}]


async def test_a_thousand_rows_with_a_few_bad_ones_fail_only_those(api, org) -> None:
    """A full call takes the validators' shortcuts; the bad rows keep the libraries' wording."""
    await make_customer(org, email="taken@example.com")
    rows = [_row(i, email=f"kunde{i}@Example.COM", phone=f"+4930{1000000 + i:07d}",
                 address={"country": "DE"}) for i in range(1_000)]
    bad = {
        17: ({"email": "kunde17@example"}, "email",
             "is not a valid email address: The part after the @-sign is not valid. "
             "It should have a period."),
        250: ({"email": "x@host.test"}, "email",
              "is not a valid email address: The part after the @-sign is a special-use or "
              "reserved name that cannot be used with email."),
        401: ({"email": "a..b@example.com"}, "email",
              "is not a valid email address: An email address cannot have two periods in a row."),
        502: ({"phone": "+49 30 12"}, "phone", "is not a valid phone number"),
        603: ({"phone": "+999123456", "address": None}, "phone",
              "is not a valid phone number (start with + and the country code)"),
        777: ({}, "email", "a customer with this email already exists"),
        998: ({"email": "taken@EXAMPLE.com"}, "email",
              "a customer with this email already exists"),
    }
    for index, (fields, _, _) in bad.items():
        rows[index] |= fields
    rows[777] = {"email": "KUNDE3@example.com", "name": "Row 3's email, no external reference"}
    payload = await run(api, rows)

    assert (payload["created"], payload["failed"], payload["errors"]) == (993, 7, [])
    failed = {r["index"]: r["errors"] for r in payload["results"] if r["status"] == "FAILED"}
    assert failed == {index: [{
        "code": "DUPLICATE" if index in (777, 998) else "BAD_USER_INPUT",
        "field": ["input", "rows", str(index), path],
        "message": message,
    }] for index, (_, path, message) in bad.items()}
    assert [r["index"] for r in payload["results"]] == list(range(1_000))
    first = payload["results"][0]["customer"]
    assert (first["email"], first["phone"]) == ("kunde0@example.com", "+49301000000")
    assert await Customer.filter(organization=org).count() == 994


DEFINE = """mutation($input: DefineCustomFieldInput!) { defineCustomField(input: $input) {
  errors { message } } }"""


async def test_a_unique_custom_field_holds_one_value_per_batch(api) -> None:
    defined = await api.data(DEFINE, input={"objectType": "CUSTOMER", "key": "member_no",
                                            "label": "Member no.", "type": "TEXT",
                                            "unique": True})
    assert defined["defineCustomField"]["errors"] == []
    payload = await run(api, [
        {"externalRef": "M-1", "name": "A", "customFields": {"member_no": "7"}},
        {"externalRef": "M-2", "name": "B", "customFields": {"member_no": "7"}},
        {"externalRef": "M-3", "name": "C", "customFields": {"member_no": "8"}},
    ])
    assert [r["status"] for r in payload["results"]] == ["CREATED", "FAILED", "CREATED"]
    assert payload["results"][1]["errors"] == [{
        "code": "DUPLICATE", "field": ["input", "rows", "1", "customFields", "member_no"],
        "message": "another record has this Member no."}]
    # a customer keeps its own value when other fields change, and a stored value stays taken
    again = await run(api, [
        {"externalRef": "M-1", "name": "A", "customFields": {"member_no": "7"}, "tags": ["x"]},
        {"externalRef": "M-4", "name": "D", "customFields": {"member_no": "8"}},
    ])
    assert [r["status"] for r in again["results"]] == ["UPDATED", "FAILED"]
