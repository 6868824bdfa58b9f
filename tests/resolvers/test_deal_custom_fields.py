"""Custom fields on deals through GraphQL: typed values with field paths on createDeal,
updateDeal and upsertDeals, required and unique flags, filters, orderings and stats on them,
personal ones masked, audit, webhooks, tenant isolation."""

from __future__ import annotations

from typing import Any

from db.enums import Role
from db.sql import fetch
from tests.factories import Api, make_org, make_user, token_for
from tests.webhook_receiver import logged, make_webhook

DEFINE = """mutation($input: DefineCustomFieldInput!) { defineCustomField(input: $input) {
  field { id key objectType } errors { code field message } } }"""
CREATE = """mutation($input: CreateDealInput!) { createDeal(input: $input) {
  deal { id name customFields } errors { code field message } } }"""
UPDATE = """mutation($input: UpdateDealInput!) { updateDeal(input: $input) {
  deal { customFields } errors { code field message } } }"""
UPSERT = """mutation($rows: [DealUpsertRow!]!) { upsertDeals(input: {rows: $rows}) {
  results { status deal { name customFields } errors { code field message } } } }"""
LIST = """query($f: DealFilter, $o: CustomFieldOrder) {
  deals(filter: $f, orderByCustomField: $o) { nodes { name customFields } } }"""


async def _define(api: Api, **values: Any) -> dict[str, Any]:
    data = await api.data(DEFINE, input={"objectType": "DEAL"} | values)
    assert data["defineCustomField"]["errors"] == [], data
    return data["defineCustomField"]["field"]  # type: ignore[no-any-return]


async def _deal(api: Api, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    data = await api.data(CREATE, input={"name": name, "amount": "100", "customFields": fields})
    assert data["createDeal"]["errors"] == [], data
    return data["createDeal"]["deal"]  # type: ignore[no-any-return]


async def test_deal_fields_are_typed_on_create_and_update(api, org) -> None:
    await _define(api, key="source", label="Source", type="SINGLE_SELECT",
                  options=["web", "partner"], required=True)
    await _define(api, key="seats", label="Seats", type="NUMBER")
    await _define(api, key="budget", label="Budget", type="MONEY", currency="EUR")
    listed = await api.data("{ customFieldDefinitions(objectType: DEAL) { key } }")
    assert [f["key"] for f in listed["customFieldDefinitions"]] == ["source", "seats", "budget"]
    deal = await _deal(api, "A", {"source": "web", "seats": 3, "budget": "12.5", "free": [1]})
    assert deal["customFields"] == {"source": "web", "seats": 3, "budget": "12.50", "free": [1]}
    # every bad value named by its path; nothing written
    bad = await api.data(CREATE, input={"name": "B", "amount": "1", "customFields": {
        "source": "fax", "seats": "many"}})
    assert bad["createDeal"]["deal"] is None
    assert sorted(e["field"] for e in bad["createDeal"]["errors"]) == [
        ["input", "customFields", "seats"], ["input", "customFields", "source"]]
    missing = await api.data(CREATE, input={"name": "C", "amount": "1"})
    assert missing["createDeal"]["errors"] == [{
        "code": "BAD_USER_INPUT", "field": ["input", "customFields", "source"],
        "message": "Source is required"}]
    not_object = await api.data(CREATE, input={"name": "D", "amount": "1", "customFields": [1]})
    assert ["input", "customFields"] in [e["field"] for e in not_object["createDeal"]["errors"]]
    assert [r["name"] for r in await fetch(
        "SELECT name FROM deal WHERE organization_id = $1", [org.id])] == ["A"]
    changed = await api.data(UPDATE, input={"id": deal["id"], "customFields": {
        "source": "partner", "seats": 4.5}})
    assert changed["updateDeal"] == {"deal": {"customFields": {"source": "partner",
                                                               "seats": 4.5}}, "errors": []}
    cleared = await api.data(UPDATE, input={"id": deal["id"], "customFields": {"seats": 1}})
    assert cleared["updateDeal"]["errors"][0]["field"] == ["input", "customFields", "source"]
    untouched = await api.data(UPDATE, input={"id": deal["id"], "name": "A2"})
    assert untouched["updateDeal"]["deal"]["customFields"]["source"] == "partner"
    audit = await fetch("SELECT action, changed_fields FROM audit_event WHERE action ="
                        " 'updateDeal' AND organization_id = $1 ORDER BY id", [org.id])
    assert "input.customFields" in audit[0]["changed_fields"]


async def test_unique_deal_fields_and_upserts(api) -> None:
    await _define(api, key="contract", label="Contract", type="TEXT", unique=True)
    first = await _deal(api, "A", {"contract": "K-1"})
    taken = await api.data(CREATE, input={"name": "B", "amount": "1",
                                          "customFields": {"contract": "K-1"}})
    assert taken["createDeal"]["errors"] == [{
        "code": "DUPLICATE", "field": ["input", "customFields", "contract"],
        "message": "another record has this Contract"}]
    same = await api.data(UPDATE, input={"id": first["id"], "customFields": {"contract": "K-1"}})
    assert same["updateDeal"]["errors"] == []
    rows = [{"externalRef": "X-1", "name": "Up", "amount": "5",
             "customFields": {"contract": "K-2"}},
            {"externalRef": "X-2", "name": "Clash", "amount": "5",
             "customFields": {"contract": "K-1"}}]
    data = await api.data(UPSERT, rows=rows)
    results = data["upsertDeals"]["results"]
    assert results[0]["status"] == "CREATED"
    assert results[0]["deal"]["customFields"] == {"contract": "K-2"}
    assert results[1]["status"] == "FAILED"
    assert results[1]["errors"][0]["field"] == ["input", "rows", "1", "customFields", "contract"]
    again = await api.data(UPSERT, rows=rows[:1])
    assert again["upsertDeals"]["results"][0]["status"] == "UNCHANGED"


async def test_filters_orderings_and_stats_on_deal_fields(api) -> None:
    await _define(api, key="seats", label="Seats", type="NUMBER")
    await _define(api, key="region", label="Region", type="SINGLE_SELECT",
                  options=["emea", "apac"])
    await _deal(api, "Small", {"seats": 5, "region": "emea"})
    await _deal(api, "Big", {"seats": 500, "region": "apac"})
    await _deal(api, "None", {})
    data = await api.data(LIST, f={"customFields": [{"key": "seats", "gte": 100}]})
    assert [n["name"] for n in data["deals"]["nodes"]] == ["Big"]
    data = await api.data(LIST, o={"key": "seats", "descending": True})
    assert [n["name"] for n in data["deals"]["nodes"]] == ["Big", "Small", "None"]
    data = await api.data(LIST, f={"customFields": [{"key": "region", "isSet": False}]})
    assert [n["name"] for n in data["deals"]["nodes"]] == ["None"]
    stats = await api.data("""{ dealStatsBy(groupBy: STAGE, filter: {customFields:
      [{key: "region", equals: ["emea"]}]}) { count } }""")
    assert sum(g["count"] for g in stats["dealStatsBy"]) == 1
    body = await api(LIST, f={"customFields": [{"key": "seats", "equals": ["x"]}]})
    assert body["errors"][0]["extensions"]["field"] == [
        "filter", "customFields", "0", "equals", "0"]
    body = await api(LIST, f={"customFields": [{"key": "nobody"}]})
    assert body["errors"][0]["extensions"]["field"] == ["filter", "customFields", "0", "key"]


async def test_personal_deal_fields_are_masked_and_not_filterable(
    http, settings, org, api
) -> None:
    await _define(api, key="champion_phone", label="Champion phone", type="TEXT",
                  personal=True)
    await _define(api, key="tier", label="Tier", type="TEXT")
    await _deal(api, "A", {"champion_phone": "+34 600 000 000", "tier": "gold"})
    await api.data("mutation { updatePrivacySettings(input: {piiRoles: [MANAGER]})"
                   " { errors { code } } }")
    agent = Api(http, token_for(await make_user(org, role=Role.AGENT), settings))
    view = await agent.data("{ deals { nodes { customFields } } }")
    assert view["deals"]["nodes"][0]["customFields"] == {"champion_phone": "***",
                                                         "tier": "gold"}
    body = await agent(LIST, f={"customFields": [{"key": "champion_phone", "isSet": True}]})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await agent(LIST, o={"key": "champion_phone"})
    assert body["errors"][0]["extensions"]["field"] == ["orderByCustomField", "key"]
    assert "errors" not in await agent(LIST, f={"customFields": [{"key": "tier", "isSet": True}]})
    # customers' personal keys are not deal keys: a customer key of the same name stays visible
    manager = Api(http, token_for(await make_user(org, role=Role.MANAGER), settings))
    plain = await manager.data("{ deals { nodes { customFields } } }")
    assert plain["deals"]["nodes"][0]["customFields"]["champion_phone"] == "+34 600 000 000"
    settings_now = await api.data("{ privacySettings { personalCustomFields } }")
    assert settings_now["privacySettings"]["personalCustomFields"] == []


async def test_only_agents_write_deal_fields_only_admins_define_them(
    http, settings, org, api
) -> None:
    await _define(api, key="tier", label="Tier", type="TEXT")
    viewer = Api(http, token_for(await make_user(org, role=Role.VIEWER), settings))
    body = await viewer(CREATE, input={"name": "A", "amount": "1", "customFields": {"tier": "x"}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    agent = Api(http, token_for(await make_user(org, role=Role.AGENT), settings))
    body = await agent(DEFINE, input={"objectType": "DEAL", "key": "x", "label": "X",
                                      "type": "TEXT"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    made = await agent.data(CREATE, input={"name": "A", "amount": "1",
                                           "customFields": {"tier": "x"}})
    assert made["createDeal"]["errors"] == []


async def test_deal_fields_stay_inside_the_organization(http, settings, api) -> None:
    await _define(api, key="tier", label="Tier", type="NUMBER")
    other = Api(http, token_for(await make_user(await make_org()), settings))
    listed = await other.data("{ customFieldDefinitions(objectType: DEAL) { key } }")
    assert listed["customFieldDefinitions"] == []
    mine = await other.data(CREATE, input={"name": "A", "amount": "1",
                                           "customFields": {"tier": "free text"}})
    assert mine["createDeal"]["errors"] == []  # undefined there: free-form
    body = await other(LIST, f={"customFields": [{"key": "tier", "gte": 1}]})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_deal_webhooks_carry_custom_fields(api, org) -> None:
    await _define(api, key="tier", label="Tier", type="TEXT")
    await make_webhook(org.id, types=("deal.created", "deal.updated"))
    deal = await _deal(api, "A", {"tier": "gold"})
    await api.data(UPDATE, input={"id": deal["id"], "customFields": {"tier": "silver"}})
    created, updated = [e for e in await logged(org.id) if e["type"].startswith("deal.")]
    assert created["data"]["after"]["customFields"] == {"tier": "gold"}
    assert updated["data"]["changes"] == {
        "customFields": {"before": {"tier": "gold"}, "after": {"tier": "silver"}}}
