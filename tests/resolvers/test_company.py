"""Companies and the people at them, through the GraphQL endpoint."""

from __future__ import annotations

from db.enums import Role
from db.sales_models import Company
from tests.factories import Api, gid, make_customer, make_org, make_user, token_for
from tests.webhook_receiver import logged, make_webhook

FIELDS = "id name domain industry size address { city country } owner { id } deletedAt"
CREATE = f"""
mutation($input: CreateCompanyInput!) {{
  createCompany(input: $input) {{ company {{ {FIELDS} }} errors {{ code field message }} }}
}}"""
UPDATE = f"""
mutation($input: UpdateCompanyInput!) {{
  updateCompany(input: $input) {{ company {{ {FIELDS} }} errors {{ code field message }} }}
}}"""
LINK = """
mutation($input: LinkPersonInput!) {
  linkPersonToCompany(input: $input) {
    membership { id title isPrimary current startedOn endedOn company { name } person { name } }
    errors { code field message }
  }
}"""
END = """
mutation($input: UpdateMembershipInput!) {
  updateCompanyMembership(input: $input) {
    membership { id current endedOn isPrimary } errors { code field message }
  }
}"""


async def _company(api: Api, **values: object) -> dict:  # type: ignore[type-arg]
    data = await api.data(CREATE, input={"name": "ACME"} | values)
    assert data["createCompany"]["errors"] == [], data
    return data["createCompany"]["company"]  # type: ignore[no-any-return]


async def test_create_normalises_the_domain_and_reads_back(api, admin) -> None:
    company = await _company(api, name=" ACME GmbH ", domain="https://www.ACME.example/about",
                             industry="Machinery", size="MEDIUM",
                             address={"city": "Berlin", "country": "de"}, ownerId=gid(admin))
    assert company["name"] == "ACME GmbH"
    assert company["domain"] == "acme.example"
    assert company["address"] == {"city": "Berlin", "country": "DE"}
    assert company["owner"] == {"id": gid(admin)}
    data = await api.data("query($id: ID!) { company(id: $id) { name size } }", id=company["id"])
    assert data["company"] == {"name": "ACME GmbH", "size": "MEDIUM"}


async def test_bad_input_is_reported_per_field_and_nothing_is_written(api, org) -> None:
    data = await api.data(CREATE, input={
        "name": " ", "domain": "not a domain", "address": {"country": "XX"},
        "ownerId": "bm9wZQ",
    })
    payload = data["createCompany"]
    assert payload["company"] is None
    assert [e["field"] for e in payload["errors"]] == [["input", "ownerId"]]
    data = await api.data(CREATE, input={"name": " ", "domain": "not a domain",
                                         "address": {"country": "XX"}})
    fields = sorted(e["field"] for e in data["createCompany"]["errors"])
    assert fields == [["input", "address", "country"], ["input", "domain"], ["input", "name"]]
    assert await Company.filter(organization_id=org.id).count() == 0


async def test_a_domain_is_unique_among_live_companies(api) -> None:
    first = await _company(api, domain="acme.example")
    data = await api.data(CREATE, input={"name": "Again", "domain": "WWW.acme.example"})
    assert data["createCompany"] == {"company": None, "errors": [{
        "code": "DUPLICATE", "field": ["input", "domain"],
        "message": "a company with this domain already exists"}]}
    deleted = await api.data("mutation($id: ID!) { deleteCompany(id: $id) { company"
                             " { deletedAt } errors { code } } }", id=first["id"])
    assert deleted["deleteCompany"]["company"]["deletedAt"] is not None
    again = await api.data(CREATE, input={"name": "Again", "domain": "acme.example"})
    assert again["createCompany"]["errors"] == []
    restored = await api.data("mutation($id: ID!) { restoreCompany(id: $id) { company { id }"
                              " errors { code field } } }", id=first["id"])
    assert restored["restoreCompany"]["errors"] == [{"code": "DUPLICATE", "field": ["domain"]}]


async def test_update_delete_and_list_with_search(api) -> None:
    company = await _company(api, name="Globex", domain="globex.example", industry="Energy")
    await _company(api, name="Initech")
    data = await api.data(UPDATE, input={"id": company["id"], "industry": None,
                                         "name": "Globex Corp"})
    assert data["updateCompany"]["company"]["name"] == "Globex Corp"
    assert data["updateCompany"]["company"]["industry"] is None
    found = await api.data('{ companies(filter: {search: "GLOBEX.ex"}) { totalCount'
                           " nodes { name } } }")
    assert found["companies"] == {"totalCount": 1, "nodes": [{"name": "Globex Corp"}]}
    everyone = await api.data("{ companies(orderBy: NAME_DESC) { nodes { name } } }")
    assert [n["name"] for n in everyone["companies"]["nodes"]] == ["Initech", "Globex Corp"]
    await api.data("mutation($id: ID!) { deleteCompany(id: $id) { errors { code } } }",
                   id=company["id"])
    live = await api.data("{ companies { nodes { name } } }")
    assert [n["name"] for n in live["companies"]["nodes"]] == ["Initech"]
    gone = await api.data(UPDATE, input={"id": company["id"], "name": "X"})
    assert gone["updateCompany"]["errors"][0]["code"] == "NOT_FOUND"


async def test_people_change_jobs_and_the_history_stays(api, org) -> None:
    old = await _company(api, name="Old Co")
    new = await _company(api, name="New Co")
    ada = await make_customer(org, name="Ada")
    first = await api.data(LINK, input={"companyId": old["id"], "customerId": gid(ada),
                                        "title": "Buyer", "isPrimary": True,
                                        "startedOn": "2020-01-01"})
    membership = first["linkPersonToCompany"]["membership"]
    assert membership["company"] == {"name": "Old Co"}
    assert membership["isPrimary"]
    ended = await api.data(END, input={"id": membership["id"], "endedOn": "2024-06-30"})
    assert ended["updateCompanyMembership"]["membership"]["current"] is False
    second = await api.data(LINK, input={"companyId": new["id"], "customerId": gid(ada),
                                         "title": "Head of Purchasing", "isPrimary": True})
    assert second["linkPersonToCompany"]["errors"] == []
    data = await api.data("""query($id: ID!) { customer(id: $id) {
        companies { totalCount nodes { title current company { name } } }
        current: companies(current: true) { nodes { company { name } } } } }""", id=gid(ada))
    companies = data["customer"]["companies"]
    assert companies["nodes"] == [
        {"title": "Head of Purchasing", "current": True, "company": {"name": "New Co"}},
        {"title": "Buyer", "current": False, "company": {"name": "Old Co"}},
    ]
    assert data["customer"]["current"]["nodes"] == [{"company": {"name": "New Co"}}]
    people = await api.data("query($id: ID!) { company(id: $id) { people { nodes"
                            " { person { name } current } } } }", id=old["id"])
    assert people["company"]["people"]["nodes"] == [{"person": {"name": "Ada"}, "current": False}]


async def test_a_new_primary_company_replaces_the_old_one(api, org) -> None:
    a, b = await _company(api, name="A"), await _company(api, name="B")
    ada = await make_customer(org, name="Ada")
    for company in (a, b):
        await api.data(LINK, input={"companyId": company["id"], "customerId": gid(ada),
                                    "isPrimary": True})
    data = await api.data("query($id: ID!) { customer(id: $id) { companies { nodes"
                          " { isPrimary company { name } } } } }", id=gid(ada))
    primary = {n["company"]["name"]: n["isPrimary"] for n in data["customer"]["companies"]["nodes"]}
    assert primary == {"A": False, "B": True}


async def test_membership_input_errors_have_paths(api, org) -> None:
    company = await _company(api)
    ada = await make_customer(org)
    other = await make_customer(await make_org())
    data = await api.data(LINK, input={"companyId": company["id"], "customerId": gid(other)})
    assert data["linkPersonToCompany"]["errors"] == [{
        "code": "NOT_FOUND", "field": ["input", "customerId"], "message": "customer not found"}]
    data = await api.data(LINK, input={"companyId": company["id"], "customerId": gid(ada),
                                       "startedOn": "2024-01-01", "endedOn": "2023-01-01"})
    assert data["linkPersonToCompany"]["errors"][0]["field"] == ["input", "endedOn"]


async def test_other_organizations_companies_look_unknown(api, http, settings) -> None:
    company = await _company(api, domain="mine.example")
    other = Api(http, token_for(await make_user(await make_org()), settings))
    data = await other.data("query($id: ID!) { company(id: $id) { id } node(id: $id) { id } }",
                            id=company["id"])
    assert data == {"company": None, "node": None}
    assert (await other.data("{ companies { totalCount } }"))["companies"]["totalCount"] == 0
    update = await other.data(UPDATE, input={"id": company["id"], "name": "Mine now"})
    assert update["updateCompany"]["errors"][0]["code"] == "NOT_FOUND"
    same = await other.data(CREATE, input={"name": "Mine", "domain": "mine.example"})
    assert same["createCompany"]["errors"] == []


async def test_agents_write_and_only_managers_delete(http, org, settings) -> None:
    agent = Api(http, token_for(await make_user(org, role=Role.AGENT), settings))
    company = await _company(agent)
    data = await agent("mutation($id: ID!) { deleteCompany(id: $id) { errors { code } } }",
                       id=company["id"])
    assert data["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_webhooks_announce_changes_with_before_and_after(api, org) -> None:
    await make_webhook(org.id, types=("company.created", "company.updated", "company.deleted"))
    company = await _company(api, name="Before", domain="before.example")
    await api.data(UPDATE, input={"id": company["id"], "name": "After"})
    await api.data("mutation($id: ID!) { deleteCompany(id: $id) { errors { code } } }",
                   id=company["id"])
    events = await logged(org.id)
    assert [e["type"] for e in events] == ["company.created", "company.updated",
                                           "company.deleted"]
    assert events[0]["data"]["after"]["domain"] == "before.example"
    assert events[1]["data"]["changes"] == {"name": {"before": "Before", "after": "After"}}
    assert events[2]["data"]["before"]["name"] == "After"


async def test_a_merge_brings_the_absorbed_persons_jobs_along(api, org) -> None:
    from db import merge as merges

    company = await _company(api, name="Shared")
    primary, duplicate = await make_customer(org, name="Ada"), await make_customer(org)
    for person in (primary, duplicate):
        await api.data(LINK, input={"companyId": company["id"], "customerId": gid(person),
                                    "isPrimary": True})
    await merges.merge(org_id=org.id, primary_id=primary.id, duplicate_ids=[duplicate.id],
                       overrides={})
    data = await api.data("query($id: ID!) { customer(id: $id) { companies { nodes"
                          " { isPrimary } } } }", id=gid(primary))
    assert data["customer"]["companies"]["nodes"] == [{"isPrimary": True}, {"isPrimary": False}]
