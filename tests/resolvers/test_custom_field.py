"""Typed custom fields through GraphQL: definitions per role, validated values with field
paths, filters and orderings on them, PII masking, tenant isolation."""

from __future__ import annotations

from typing import Any

from db.enums import Role
from db.models import Customer
from tests.factories import Api, make_customer, make_org, make_user, token_for
from tests.webhook_receiver import logged, make_webhook

DEFINE = """mutation($input: DefineCustomFieldInput!) { defineCustomField(input: $input) {
  field { id key label type options currency required unique personal }
  errors { code field message } } }"""
CREATE = """mutation($input: CreateCustomerInput!) { createCustomer(input: $input) {
  customer { id name customFields } errors { code field message } } }"""
UPDATE = """mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) {
  customer { customFields } errors { code field message } } }"""
LIST = """query($f: CustomerFilter, $o: CustomFieldOrder) {
  customers(filter: $f, orderByCustomField: $o) { nodes { name } } }"""


async def _define(api: Api, **values: Any) -> dict[str, Any]:
    data = await api.data(DEFINE, input={"objectType": "CUSTOMER"} | values)
    assert data["defineCustomField"]["errors"] == [], data
    return data["defineCustomField"]["field"]  # type: ignore[no-any-return]


async def _fields(api: Api) -> None:
    await _define(api, key="tier", label="Tier", type="SINGLE_SELECT",
                  options=["gold", "silver"])
    await _define(api, key="seats", label="Seats", type="NUMBER")
    await _define(api, key="budget", label="Budget", type="MONEY", currency="EUR")
    await _define(api, key="renewal", label="Renewal", type="DATE")
    await _define(api, key="vip", label="VIP", type="BOOLEAN")
    await _define(api, key="topics", label="Topics", type="MULTI_SELECT",
                  options=["ml", "crm", "erp"])
    await _define(api, key="site", label="Site", type="URL")
    await _define(api, key="billing_email", label="Billing email", type="EMAIL", unique=True)
    await _define(api, key="mobile", label="Mobile", type="PHONE")


async def test_an_admin_defines_fields_everyone_reads_them(http, settings, org, api) -> None:
    field = await _define(api, key="tier", label="Tier", type="SINGLE_SELECT",
                          options=["gold", "silver"], required=True)
    assert field | {"id": None} == {
        "id": None, "key": "tier", "label": "Tier", "type": "SINGLE_SELECT",
        "options": ["gold", "silver"], "currency": None, "required": True, "unique": False,
        "personal": False}
    for role in (Role.VIEWER, Role.AGENT, Role.MANAGER):
        user = Api(http, token_for(await make_user(org, role=role), settings))
        body = await user(DEFINE, input={"objectType": "CUSTOMER", "key": "x", "label": "X",
                                         "type": "TEXT"})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", role
        listed = await user.data("{ customFieldDefinitions(objectType: CUSTOMER) { key } }")
        assert listed["customFieldDefinitions"] == [{"key": "tier"}]
    changed = await api.data("""mutation($id: ID!) { updateCustomField(input: {id: $id,
      label: "Level", options: ["gold", "silver", "bronze"], required: false}) {
      field { label options required } errors { field } } }""", id=field["id"])
    assert changed["updateCustomField"] == {"field": {
        "label": "Level", "options": ["gold", "silver", "bronze"], "required": False},
        "errors": []}
    gone = await api.data("mutation($id: ID!) { deleteCustomField(id: $id) { field { key } } }",
                          id=field["id"])
    assert gone["deleteCustomField"]["field"] == {"key": "tier"}
    empty = await api.data("{ customFieldDefinitions(objectType: CUSTOMER) { key } }")
    assert empty["customFieldDefinitions"] == []


async def test_bad_definitions_name_their_fields(api) -> None:
    data = await api.data(DEFINE, input={"objectType": "CUSTOMER", "key": "Bad Key",
                                         "label": " ", "type": "SINGLE_SELECT"})
    assert sorted(e["field"] for e in data["defineCustomField"]["errors"]) == [
        ["input", "key"], ["input", "label"], ["input", "options"]]
    data = await api.data(DEFINE, input={"objectType": "COMPANY", "key": "n", "label": "N",
                                         "type": "NUMBER", "currency": "EUR"})
    assert [e["field"] for e in data["defineCustomField"]["errors"]] == [["input", "currency"]]
    await _define(api, key="n", label="N", type="NUMBER")
    again = await api.data(DEFINE, input={"objectType": "CUSTOMER", "key": "n", "label": "N",
                                          "type": "TEXT"})
    assert again["defineCustomField"]["errors"] == [{
        "code": "DUPLICATE", "field": ["input", "key"],
        "message": "a field with this key already exists"}]


async def test_values_are_typed_normalised_and_reported_by_path(api, org) -> None:
    await _fields(api)
    good = await api.data(CREATE, input={"name": "Ada", "customFields": {
        "tier": "gold", "seats": 12, "budget": "1500.5", "renewal": "2031-01-31", "vip": True,
        "topics": ["ml", "crm", "ml"], "site": "https://ada.example", "mobile": "+4930123456",
        "billing_email": "Billing@ADA.example", "note": {"free": "form"}}})
    assert good["createCustomer"]["errors"] == []
    assert good["createCustomer"]["customer"]["customFields"] == {
        "tier": "gold", "seats": 12, "budget": "1500.50", "renewal": "2031-01-31", "vip": True,
        "topics": ["ml", "crm"], "site": "https://ada.example", "mobile": "+4930123456",
        "billing_email": "Billing@ada.example", "note": {"free": "form"}}
    bad = await api.data(CREATE, input={"name": "Bob", "customFields": {
        "tier": "platinum", "seats": "twelve", "budget": "1.234", "renewal": "31/01/2031",
        "vip": "yes", "topics": ["hr"], "site": "ftp://x", "mobile": "12",
        "billing_email": "Billing@ADA.example"}})
    errors = {tuple(e["field"]): e["code"] for e in bad["createCustomer"]["errors"]}
    assert errors == {("input", "customFields", key): "BAD_USER_INPUT" for key in (
        "tier", "seats", "budget", "renewal", "vip", "topics", "site", "mobile")} | {
        ("input", "customFields", "billing_email"): "DUPLICATE"}
    assert await Customer.filter(organization_id=org.id, name="Bob").count() == 0


async def test_required_fields_are_asked_for(api) -> None:
    await _define(api, key="tier", label="Tier", type="TEXT", required=True)
    missing = await api.data(CREATE, input={"name": "Ada"})
    assert missing["createCustomer"]["errors"] == [{
        "code": "BAD_USER_INPUT", "field": ["input", "customFields", "tier"],
        "message": "Tier is required"}]
    made = await api.data(CREATE, input={"name": "Ada", "customFields": {"tier": "a"}})
    customer = made["createCustomer"]["customer"]
    renamed = await api.data(UPDATE, input={"id": customer["id"], "name": "Ada B"})
    assert renamed["updateCustomer"]["errors"] == []
    cleared = await api.data(UPDATE, input={"id": customer["id"], "customFields": {}})
    assert cleared["updateCustomer"]["errors"][0]["field"] == ["input", "customFields", "tier"]


async def test_filters_and_orderings_on_custom_fields(api, org) -> None:
    await _fields(api)
    for name, values in (
        ("Ada", {"tier": "gold", "seats": 12, "budget": "900.00", "renewal": "2031-01-31",
                 "vip": True, "topics": ["ml", "crm"]}),
        ("Bob", {"tier": "silver", "seats": 3, "budget": "15000.00", "renewal": "2030-06-01",
                 "vip": False, "topics": ["erp"]}),
        ("Cy", {"tier": "gold", "seats": 40}),
        ("Di", {}),
    ):
        data = await api.data(CREATE, input={"name": name, "customFields": values})
        assert data["createCustomer"]["errors"] == [], data

    async def names(conditions: list[dict[str, Any]], order: Any = None) -> list[str]:
        data = await api.data(LIST, f={"customFields": conditions}, o=order)
        return [n["name"] for n in data["customers"]["nodes"]]

    assert sorted(await names([{"key": "tier", "equals": ["gold"]}])) == ["Ada", "Cy"]
    assert await names([{"key": "seats", "gte": 10, "lte": 20}]) == ["Ada"]
    assert await names([{"key": "budget", "gte": "1000"}]) == ["Bob"]
    assert await names([{"key": "renewal", "lte": "2030-12-31"}]) == ["Bob"]
    assert await names([{"key": "vip", "equals": [True]}]) == ["Ada"]
    assert await names([{"key": "topics", "equals": ["crm"]}]) == ["Ada"]
    assert await names([{"key": "seats", "isSet": False}]) == ["Di"]
    assert await names([], {"key": "seats", "descending": True}) == ["Cy", "Ada", "Bob", "Di"]
    assert await names([], {"key": "budget"}) == ["Cy", "Di", "Ada", "Bob"]  # none: smallest
    nested = await api.data(LIST, f={"or": [{"customFields": [{"key": "seats", "lte": 5}]},
                                             {"customFields": [{"key": "vip",
                                                                "equals": [True]}]}]})
    assert sorted(n["name"] for n in nested["customers"]["nodes"]) == ["Ada", "Bob"]
    for conditions, path in (
        ([{"key": "nope", "equals": ["x"]}], ["filter", "customFields", "0", "key"]),
        ([{"key": "tier", "gte": "a"}], ["filter", "customFields", "0", "gte"]),
        ([{"key": "seats", "equals": ["many"]}], ["filter", "customFields", "0", "equals", "0"]),
    ):
        body = await api(LIST, f={"customFields": conditions})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        assert body["errors"][0]["extensions"]["field"] == path, body
    # a key nobody defined orders its free-form values as text; one that cannot be a key fails
    body = await api(LIST, o={"key": "nope"})
    assert "errors" not in body, body
    body = await api(LIST, o={"key": "Not A Key"})
    assert body["errors"][0]["extensions"]["field"] == ["orderByCustomField", "key"]


async def test_company_fields_filter_and_order(api) -> None:
    await _define(api, objectType="COMPANY", key="employees", label="Employees", type="NUMBER")
    create = """mutation($input: CreateCompanyInput!) { createCompany(input: $input) {
      company { customFields } errors { field } } }"""
    for name, n in (("Small", 5), ("Big", 5000)):
        data = await api.data(create, input={"name": name, "customFields": {"employees": n}})
        assert data["createCompany"]["errors"] == []
    bad = await api.data(create, input={"name": "X", "customFields": {"employees": "lots"}})
    assert bad["createCompany"]["errors"] == [{"field": ["input", "customFields", "employees"]}]
    data = await api.data("""{ companies(filter: {customFields: [{key: "employees", gte: 100}]})
      { nodes { name } } all: companies(orderByCustomField: {key: "employees",
      descending: true}) { nodes { name } } }""")
    assert data["companies"]["nodes"] == [{"name": "Big"}]
    assert data["all"]["nodes"] == [{"name": "Big"}, {"name": "Small"}]


async def test_personal_fields_are_masked_and_not_filterable(http, settings, org, api) -> None:
    await _define(api, key="birthday", label="Birthday", type="DATE", personal=True)
    await make_customer(org, name="Ada", custom_fields={"birthday": "1990-02-03", "x": 1})
    admin_view = await api.data("{ customers { nodes { customFields } } }")
    assert admin_view["customers"]["nodes"][0]["customFields"]["birthday"] == "1990-02-03"
    await api.data("mutation { updatePrivacySettings(input: {piiRoles: [MANAGER]})"
                   " { errors { code } } }")
    agent = Api(http, token_for(await make_user(org, role=Role.AGENT), settings))
    view = await agent.data("{ customers { nodes { customFields } } }")
    fields = view["customers"]["nodes"][0]["customFields"]
    assert fields["birthday"] != "1990-02-03"
    assert fields["x"] == 1
    body = await agent(LIST, f={"customFields": [{"key": "birthday", "lte": "2000-01-01"}]})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    settings_now = await api.data("{ privacySettings { personalCustomFields } }")
    assert settings_now["privacySettings"]["personalCustomFields"] == ["birthday"]


async def test_definitions_and_filters_stay_inside_the_organization(http, settings, api) -> None:
    field = await _define(api, key="tier", label="Tier", type="TEXT")
    other = Api(http, token_for(await make_user(await make_org()), settings))
    listed = await other.data("{ customFieldDefinitions(objectType: CUSTOMER) { key } }")
    assert listed["customFieldDefinitions"] == []
    changed = await other.data("""mutation($id: ID!) { updateCustomField(input: {id: $id,
      label: "Mine"}) { field { key } errors { code } } }""", id=field["id"])
    assert changed["updateCustomField"] == {"field": None, "errors": [{"code": "NOT_FOUND"}]}
    body = await other(LIST, f={"customFields": [{"key": "tier", "equals": ["a"]}]})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    mine = await other.data(CREATE, input={"name": "Ada", "customFields": {"tier": 5}})
    assert mine["createCustomer"]["errors"] == []  # undefined there: free-form


async def test_definition_changes_are_webhook_events_with_before_and_after(api, org) -> None:
    await make_webhook(org.id, types=("custom_field.defined", "custom_field.updated",
                                      "custom_field.deleted"))
    field = await _define(api, objectType="DEAL", key="tier", label="Tier", type="SINGLE_SELECT",
                          options=["gold"])
    await api.data("""mutation($id: ID!) { updateCustomField(input: {id: $id, label: "Level",
      options: ["gold", "silver"]}) { errors { field } } }""", id=field["id"])
    await api.data("""mutation($id: ID!) { updateCustomField(input: {id: $id, label: "Level"})
      { errors { field } } }""", id=field["id"])  # no change: no event
    await api.data("mutation($id: ID!) { deleteCustomField(id: $id) { errors { field } } }",
                   id=field["id"])
    events = await logged(org.id)
    assert [e["type"] for e in events] == ["custom_field.defined", "custom_field.updated",
                                           "custom_field.deleted"]
    defined, updated, deleted = events
    assert defined["data"]["after"] | {"id": field["id"]} == {
        "id": field["id"], "objectType": "DEAL", "key": "tier", "label": "Tier",
        "type": "SINGLE_SELECT", "options": ["gold"], "currency": None, "required": False,
        "unique": False, "personal": False, "position": 0}
    assert defined["data"]["after"]["id"] == field["id"]
    assert updated["data"]["changes"] == {
        "label": {"before": "Tier", "after": "Level"},
        "options": {"before": ["gold"], "after": ["gold", "silver"]}}
    assert deleted["data"]["before"]["label"] == "Level"
    # the webhook's subscribable events name them
    made = await api.data("""mutation { createWebhook(input: {url: "https://93.184.216.34/h",
      events: [CUSTOM_FIELD_DEFINED, CUSTOM_FIELD_UPDATED, CUSTOM_FIELD_DELETED]})
      { errors { field } } }""")
    assert made["createWebhook"]["errors"] == []
