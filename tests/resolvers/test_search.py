"""Search that forgives, through GraphQL: word order, missing middle names, typos, ranking."""

from __future__ import annotations

from db.sales_models import Company
from tests.factories import Api, make_customer, make_org, make_user, token_for

CUSTOMERS = """
query($search: String!, $order: CustomerOrderBy!) {
  customers(first: 10, filter: {search: $search}, orderBy: $order) { nodes { name } }
}"""
COMPANIES = """
query($search: String!) {
  companies(first: 10, filter: {search: $search}, orderBy: RELEVANCE) { nodes { name } }
}"""
DEALS = """
query($search: String!) {
  deals(first: 10, filter: {search: $search}, orderBy: RELEVANCE) { nodes { name } }
}"""


async def _names(api: Api, search: str, order: str = "RELEVANCE") -> list[str]:
    data = await api.data(CUSTOMERS, search=search, order=order)
    return [n["name"] for n in data["customers"]["nodes"]]


async def test_words_in_any_order_missing_middle_names_and_typos(api, org) -> None:
    for name in ("Sara Ledesma Mora", "Sara Mora", "Saul Moreno", "Peter Godard", "Ann Smith"):
        await make_customer(org, name=name)
    assert await _names(api, "Sara Mora") == ["Sara Mora", "Sara Ledesma Mora"]
    assert await _names(api, "Mora Sara") == ["Sara Mora", "Sara Ledesma Mora"]
    assert await _names(api, "Goddard") == ["Peter Godard"]
    assert await _names(api, "godard peter") == ["Peter Godard"]
    assert await _names(api, "Zebulon") == []


async def test_email_phone_and_company_are_searched_and_substrings_still_match(api, org) -> None:
    await make_customer(org, name="Ann Smith", email="ann.smith@acme.example",
                        phone="+4930123456", company="Globex Industries")
    await make_customer(org, name="Bob Jones")
    for term in ("acme.example", "4930123456", "Globex", "Globez Industries", "nn.smi", "mith"):
        assert await _names(api, term, "NAME_ASC") == ["Ann Smith"], term


async def test_ranking_pages_with_cursors(api, org) -> None:
    for name in ("Sara Ledesma Mora", "Sara Mora", "Sara Mora Diaz"):
        await make_customer(org, name=name)
    query = """query($after: String) { customers(first: 1, after: $after,
      filter: {search: "sara mora"}, orderBy: RELEVANCE) {
        nodes { name } pageInfo { endCursor hasNextPage } totalCount } }"""
    seen, after = [], None
    while True:
        page = (await api.data(query, after=after))["customers"]
        assert page["totalCount"] == 3
        seen += [n["name"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen[0] == "Sara Mora"
    assert sorted(seen) == ["Sara Ledesma Mora", "Sara Mora", "Sara Mora Diaz"]


async def test_companies_and_deals_forgive_too(api, org) -> None:
    company = await Company.create(organization_id=org.id, name="Goddard Robotics",
                                   domain="goddard.example")
    await Company.create(organization_id=org.id, name="Initech")
    names = await api.data(COMPANIES, search="godard robotics")
    assert [n["name"] for n in names["companies"]["nodes"]] == ["Goddard Robotics"]
    created = await api.data(
        """mutation($input: CreateDealInput!) { createDeal(input: $input) {
             deal { name } errors { field } } }""",
        input={"name": "Warehouse automation", "amount": "1000",
               "companyId": f"{_gid('Company', company.id)}"},
    )
    assert created["createDeal"]["errors"] == [], created
    for term in ("warehous automaton", "goddard"):
        deals = await api.data(DEALS, search=term)
        assert [n["name"] for n in deals["deals"]["nodes"]] == ["Warehouse automation"], term


async def test_search_stays_inside_the_organization(http, settings, org) -> None:
    await make_customer(org, name="Sara Mora")
    other = await make_org()
    api = Api(http, token_for(await make_user(other), settings))
    assert await _names(api, "Sara Mora") == []


def _gid(type_name: str, pk: int) -> str:
    from schema.node import to_global_id

    return to_global_id(type_name, pk)


async def test_the_search_dictionary_forgets_an_erased_customers_words(api, org) -> None:
    import uuid

    from db.sql import fetch
    from tests.factories import gid

    # words no other test's customer holds (the dictionary is the database's)
    given, family = ("".join(chr(97 + int(c, 16)) for c in uuid.uuid4().hex[:10])
                     for _ in range(2))
    rare = await make_customer(org, name=f"{given} {family}")
    await make_customer(org, name=f"Ann {family}")
    assert await _names(api, given) == [f"{given} {family}"]
    erased = await api.data("mutation($id: ID!) { eraseCustomer(customerId: $id)"
                            " { errors { code } } }", id=gid(rare))
    assert erased["eraseCustomer"]["errors"] == []
    words = {r["word"] for r in await fetch(
        "SELECT word FROM search_word WHERE word = ANY($1::text[])", [[given, family]])}
    assert words == {family}  # Ann still holds it
