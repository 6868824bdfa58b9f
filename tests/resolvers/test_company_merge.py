"""Company duplicates and mergeCompanies through the GraphQL endpoint."""

from __future__ import annotations

from db.enums import Role
from db.sql import fetch
from tests.factories import Api, gid, make_customer, make_user, token_for
from tests.webhook_receiver import logged, make_webhook

ERRORS = "errors { code field message }"
DUPLICATES = """query($id: ID!, $min: Float) { companyDuplicates(companyId: $id, minScore: $min) {
  company { name domain } score reasons { signal similarity } } }"""
MERGE = f"""mutation($input: MergeCompaniesInput!) {{ mergeCompanies(input: $input) {{
  company {{ id name domain industry address {{ city }} customFields }} absorbedIds
  moved {{ memberships deals tasks notes }} {ERRORS} }} }}"""


async def _company(api: Api, **values: object) -> str:
    data = await api.data("mutation($input: CreateCompanyInput!) { createCompany(input: $input)"
                          " { company { id } errors { code } } }", input=values)
    return str(data["createCompany"]["company"]["id"])


async def test_duplicates_by_domain_and_similar_name(api) -> None:
    acme = await _company(api, name="ACME GmbH", domain="acme.de")
    await _company(api, name="Acme Inc.", domain="acme.com")
    await _company(api, name="Acme Shop", domain="shop.acme.de")
    await _company(api, name="Acme Gmbh Berlin")
    await _company(api, name="Globex", domain="globex.example")
    found = (await api.data(DUPLICATES, id=acme, min=0.3))["companyDuplicates"]
    names = [c["company"]["name"] for c in found]
    assert names[:2] == ["Acme Shop", "Acme Inc."], found
    assert "Globex" not in names
    assert [c["score"] for c in found[:2]] == [1.0, 0.9]  # a subdomain; another TLD + name
    assert {r["signal"] for r in found[1]["reasons"]} == {"DOMAIN", "NAME"}
    assert "Acme Gmbh Berlin" in names
    missing = await api('query { companyDuplicates(companyId: "Q29tcGFueTo5OTk5") { score } }')
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_merge_moves_everything_and_keeps_history(api, org) -> None:
    await make_webhook(org.id, types=("company.updated", "company.deleted", "deal.updated"))
    primary = await _company(api, name="Acme", customFields={"tier": "gold"})
    twin = await _company(api, name="ACME Ltd", domain="acme.example", industry="Tools",
                          address={"city": "Leeds"}, customFields={"tier": "x", "vat": "GB1"})
    person = gid(await make_customer(org))
    await api.data("mutation($c: ID!, $p: ID!) { linkPersonToCompany(input: {companyId: $c,"
                   " customerId: $p, isPrimary: true}) { errors { code } } }", c=twin, p=person)
    await api.data('mutation($c: ID!) { createDeal(input: {name: "D", amount: "1",'
                   " companyId: $c}) { errors { code } } }", c=twin)
    await api.data('mutation($c: ID!) { createTask(input: {title: "T", companyId: $c})'
                   " { errors { code } } }", c=twin)
    await api.data('mutation($c: ID!, $p: ID!) { logInteraction(input: {customerId: $p,'
                   ' channel: NOTE, direction: INBOUND, body: "n", companyId: $c})'
                   " { errors { code } } }", c=twin, p=person)
    merged = (await api.data(MERGE, input={"primaryId": primary, "duplicateIds": [twin]}))[
        "mergeCompanies"]
    assert merged["errors"] == []
    assert merged["company"] == {
        "id": primary, "name": "Acme", "domain": "acme.example", "industry": "Tools",
        "address": {"city": "Leeds"}, "customFields": {"tier": "gold", "vat": "GB1"}}
    assert merged["moved"] == {"memberships": 1, "deals": 1, "tasks": 1, "notes": 1}
    assert merged["absorbedIds"] == [twin]
    people = await api.data("query($c: ID!) { company(id: $c) { people { nodes { isPrimary } }"
                            " deals { nodes { name } } } }", c=primary)
    assert people["company"]["people"]["nodes"] == [{"isPrimary": True}]
    assert people["company"]["deals"]["nodes"] == [{"name": "D"}]
    gone = await api.data("query { companies(filter: {deleted: true}) { nodes { id"
                          " mergedInto { id } } } }")
    assert gone["companies"]["nodes"] == [{"id": twin, "mergedInto": {"id": primary}}]
    types = [e["type"] for e in await logged(org.id)]
    assert types.count("company.deleted") == 1
    assert "company.updated" in types
    assert "deal.updated" in types
    audit = await fetch("SELECT item_count FROM audit_event WHERE organization_id = $1"
                        " AND action = 'mergeCompanies'", [org.id])
    assert [a["item_count"] for a in audit] == [2]  # companies merged, the primary included


async def test_bad_merges_say_why_and_change_nothing(http, api, org, settings) -> None:
    primary = await _company(api, name="P")
    twin = await _company(api, name="T")
    cases = [
        ({"primaryId": primary, "duplicateIds": []}, [("BAD_USER_INPUT", ["input",
                                                                          "duplicateIds"])]),
        ({"primaryId": primary, "duplicateIds": [primary]},
         [("BAD_USER_INPUT", ["input", "duplicateIds"])]),
        ({"primaryId": primary, "duplicateIds": [twin, "Q29tcGFueTo5OTk5"]},
         [("NOT_FOUND", ["input", "duplicateIds", "1"])]),
        ({"primaryId": "bm9wZQ", "duplicateIds": [twin]},
         [("BAD_USER_INPUT", ["input", "primaryId"])]),
    ]
    for given, expected in cases:
        errors = (await api.data(MERGE, input=given))["mergeCompanies"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == expected, given
    agent = Api(http, token_for(await make_user(org, Role.AGENT), settings))
    body = await agent(MERGE, input={"primaryId": primary, "duplicateIds": [twin]})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    live = await api.data("query { companies { totalCount } }")
    assert live["companies"]["totalCount"] == 2
