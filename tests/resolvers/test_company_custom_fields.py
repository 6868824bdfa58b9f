"""Custom fields on companies through GraphQL: personal ones masked for viewers who may not
read personal data, who may not filter or order on them either; unique values in one
upsertCompanies batch."""

from __future__ import annotations

from typing import Any

from db.enums import Role
from tests.factories import Api, make_user, token_for
from tests.security_helpers import make_key

DEFINE = """mutation($input: DefineCustomFieldInput!) { defineCustomField(input: $input) {
  field { id key objectType } errors { code field message } } }"""
CREATE = """mutation($input: CreateCompanyInput!) { createCompany(input: $input) {
  company { id name customFields } errors { code field message } } }"""
UPSERT = """mutation($rows: [CompanyUpsertRow!]!) { upsertCompanies(input: {rows: $rows}) {
  results { status company { name customFields } errors { code field message } } } }"""
LIST = """query($f: CompanyFilter, $o: CustomFieldOrder) {
  companies(filter: $f, orderByCustomField: $o) { nodes { name customFields } } }"""


async def _define(api: Api, **values: Any) -> None:
    data = await api.data(DEFINE, input={"objectType": "COMPANY"} | values)
    assert data["defineCustomField"]["errors"] == [], data


async def _company(api: Api, name: str, fields: dict[str, Any]) -> None:
    data = await api.data(CREATE, input={"name": name, "customFields": fields})
    assert data["createCompany"]["errors"] == [], data


async def test_personal_company_fields_are_masked_and_not_filterable(
    http, settings, org, api
) -> None:
    await _define(api, key="founder_phone", label="Founder phone", type="TEXT", personal=True)
    await _define(api, key="tier", label="Tier", type="TEXT")
    await _company(api, "A", {"founder_phone": "+34 600 000 000", "tier": "gold"})
    await api.data("mutation { updatePrivacySettings(input: {piiRoles: [MANAGER]})"
                   " { errors { code } } }")
    agent = Api(http, token_for(await make_user(org, role=Role.AGENT), settings))
    masked = {"founder_phone": "***", "tier": "gold"}
    view = await agent.data("{ companies { nodes { id customFields } } }")
    assert view["companies"]["nodes"][0]["customFields"] == masked
    one = await agent.data("query($id: ID!) { company(id: $id) { customFields } }",
                           id=view["companies"]["nodes"][0]["id"])
    assert one["company"]["customFields"] == masked
    body = await agent(LIST, f={"customFields": [{"key": "founder_phone", "isSet": True}]})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["extensions"]["field"] == ["filter", "customFields"]
    body = await agent(LIST, o={"key": "founder_phone"})
    assert body["errors"][0]["extensions"]["field"] == ["orderByCustomField", "key"]
    assert "errors" not in await agent(LIST, f={"customFields": [{"key": "tier", "isSet": True}]},
                                       o={"key": "tier"})
    # API keys: masked without pii:read, plain with it
    key = Api(http, await make_key(org.id, ["companies:read"]))
    assert (await key.data(LIST))["companies"]["nodes"][0]["customFields"] == masked
    pii = Api(http, await make_key(org.id, ["companies:read", "pii:read"]))
    plain = (await pii.data(LIST))["companies"]["nodes"][0]["customFields"]
    assert plain["founder_phone"] == "+34 600 000 000"
    manager = Api(http, token_for(await make_user(org, role=Role.MANAGER), settings))
    listed = await manager.data(LIST, f={"customFields": [{"key": "founder_phone",
                                                           "equals": ["+34 600 000 000"]}]})
    assert listed["companies"]["nodes"][0]["customFields"]["founder_phone"] == "+34 600 000 000"
    # company keys are neither customer nor deal keys: deals with the same key stay visible
    settings_now = await api.data("{ privacySettings { personalCustomFields } }")
    assert settings_now["privacySettings"]["personalCustomFields"] == []
    deal = await agent.data("""mutation { createDeal(input: {name: "D", amount: "1",
      customFields: {founder_phone: "+1 555"}}) { deal { customFields } } }""")
    assert deal["createDeal"]["deal"]["customFields"] == {"founder_phone": "+1 555"}


async def test_a_unique_company_field_holds_one_value_per_batch(api) -> None:
    await _define(api, key="ref", label="Ref", type="TEXT", unique=True)
    data = await api.data(UPSERT, rows=[
        {"name": "A", "customFields": {"ref": "R-1"}},
        {"name": "B", "customFields": {"ref": "R-1"}},
        {"name": "C", "customFields": {"ref": "R-2"}},
    ])
    results = data["upsertCompanies"]["results"]
    assert [r["status"] for r in results] == ["CREATED", "FAILED", "CREATED"]
    assert results[1]["errors"] == [{
        "code": "DUPLICATE", "field": ["input", "rows", "1", "customFields", "ref"],
        "message": "another record has this Ref"}]
    # a company keeps its own value when other fields change
    again = await api.data(UPSERT, rows=[{"name": "A", "customFields": {"ref": "R-1"},
                                          "industry": "Retail"}])
    assert again["upsertCompanies"]["results"][0]["status"] == "UPDATED"
