"""upsertCompanies and upsertDeals through the GraphQL endpoint."""

from __future__ import annotations

from typing import Any

from db.enums import Role
from tests.factories import Api, gid, make_org, make_user, token_for
from tests.webhook_receiver import logged, make_webhook

ERRORS = "errors { code field message }"
COMPANIES = f"""
mutation($rows: [CompanyUpsertRow!]!) {{
  upsertCompanies(input: {{rows: $rows}}) {{
    created updated unchanged failed {ERRORS}
    results {{ index status company {{ id name domain industry }} {ERRORS} }}
  }}
}}"""
DEALS = f"""
mutation($rows: [DealUpsertRow!]!) {{
  upsertDeals(input: {{rows: $rows}}) {{
    created updated unchanged failed {ERRORS}
    results {{ index status {ERRORS}
      deal {{ id name externalRef amount {{ amount currency }} status stage {{ name }}
             company {{ name }} stageHistory {{ toStage }} }} }}
  }}
}}"""


async def _companies(api: Api, *rows: dict[str, Any]) -> dict[str, Any]:
    return (await api.data(COMPANIES, rows=list(rows)))["upsertCompanies"]  # type: ignore[no-any-return]


async def _deals(api: Api, *rows: dict[str, Any]) -> dict[str, Any]:
    return (await api.data(DEALS, rows=list(rows)))["upsertDeals"]  # type: ignore[no-any-return]


async def test_companies_match_on_the_normalised_domain_else_the_name(api) -> None:
    first = await _companies(api, {"name": "Acme", "domain": "https://www.ACME.example/x"},
                             {"name": "No Domain Ltd", "industry": "Retail"})
    assert (first["created"], first["failed"]) == (2, 0), first
    again = await _companies(api, {"name": "Acme Corp", "domain": "acme.example"},
                             {"name": "  No Domain Ltd ", "industry": "Retail"},
                             {"name": "Acme", "domain": "www.acme.example", "industry": "X"})
    statuses = [r["status"] for r in again["results"]]
    assert statuses == ["UPDATED", "UNCHANGED", "FAILED"], again
    assert again["results"][2]["errors"] == [{
        "code": "DUPLICATE", "field": ["input", "rows", "2", "domain"],
        "message": "repeats the key of row 0"}]
    assert again["results"][0]["company"]["name"] == "Acme Corp"
    assert again["results"][1]["company"]["id"] == first["results"][1]["company"]["id"]


async def test_bad_company_rows_fail_alone_with_field_paths(api) -> None:
    await _companies(api, {"name": "Taken", "domain": "taken.example"}, {"name": "Twin"})
    await api.data('mutation { createCompany(input: {name: "twin"}) { company { id } } }')
    result = await _companies(
        api, {"name": "Fine", "domain": "fine.example"}, {"domain": "not a domain"},
        {"industry": "x"}, {"name": "n" * 201, "domain": "long.example"},
        {"name": "TWIN", "industry": "y"}, {"name": "Other", "address": {"country": "XX"}},
        {"name": "Fine", "domain": "fine2.example", "ownerId": "bm9wZQ"},
    )
    assert [r["status"] for r in result["results"]] == ["CREATED", *["FAILED"] * 6]
    paths = [[tuple(e["field"]) for e in r["errors"]] for r in result["results"][1:]]
    assert paths == [
        [("input", "rows", "1", "domain")], [("input", "rows", "2", "name")],
        [("input", "rows", "3", "name")], [("input", "rows", "4", "name")],
        [("input", "rows", "5", "address", "country")], [("input", "rows", "6", "ownerId")],
    ]
    assert result["results"][4]["errors"][0]["code"] == "DUPLICATE"


async def test_a_company_taking_a_held_domain_fails_with_duplicate(api) -> None:
    await _companies(api, {"name": "Holder", "domain": "held.example"}, {"name": "Mover"})
    result = await _companies(api, {"name": "Mover", "domain": None},
                              {"name": "Mover2", "domain": "held.example"})
    assert result["results"][1]["status"] == "UPDATED"  # matched on the domain: it renames


async def test_deals_match_on_external_ref_else_name_and_company(api) -> None:
    await _companies(api, {"name": "Acme", "domain": "acme.example"})
    first = await _deals(
        api, {"externalRef": "D-1", "name": "Big one", "amount": "1000", "currency": "EUR",
              "companyDomain": "acme.example", "stageName": "Proposal"},
        {"name": "Small one", "amount": "10", "companyName": "ACME"},
    )
    assert first["created"] == 2, first
    big = first["results"][0]["deal"]
    assert big["company"] == {"name": "Acme"}
    assert big["stage"] == {"name": "Proposal"}
    again = await _deals(
        api, {"externalRef": "D-1", "name": "Big one", "amount": "1000.00",
              "stageName": "Negotiation"},
        {"name": "Small one", "amount": "10", "companyName": "acme"},
        {"name": "Small one", "amount": "20"},  # no company: another deal
    )
    assert [r["status"] for r in again["results"]] == ["UPDATED", "UNCHANGED", "CREATED"], again
    moved = again["results"][0]["deal"]
    assert [h["toStage"] for h in moved["stageHistory"]] == ["Proposal", "Negotiation"]
    assert moved["id"] == big["id"]


async def test_bad_deal_rows_fail_alone_with_field_paths(api) -> None:
    await _deals(api, {"externalRef": "D-9", "name": "Nine", "amount": "9"})
    result = await _deals(
        api, {"externalRef": "D-10", "name": "Ten", "amount": "10"},
        {"externalRef": "D-11", "name": "Neg", "amount": "-1"},
        {"name": "No amount"},
        {"externalRef": "D-12", "name": "X", "amount": "1", "companyDomain": "nowhere.example"},
        {"externalRef": "D-13", "name": "X", "amount": "1", "stageName": "Nope"},
        {"externalRef": "D-14", "name": "X", "amount": "1", "status": "LOST"},
        {"externalRef": "D-15", "name": "X", "amount": "1", "probability": 101},
        {"amount": "1"},
        {"externalRef": "D-10", "name": "again", "amount": "1"},
    )
    assert [r["status"] for r in result["results"]] == ["CREATED", *["FAILED"] * 8], result
    found = [[(e["code"], tuple(e["field"])) for e in r["errors"]]
             for r in result["results"][1:]]
    assert found == [
        [("BAD_USER_INPUT", ("input", "rows", "1", "amount"))],
        [("BAD_USER_INPUT", ("input", "rows", "2", "amount"))],
        [("NOT_FOUND", ("input", "rows", "3", "companyDomain"))],
        [("NOT_FOUND", ("input", "rows", "4", "stageName"))],
        [("BAD_USER_INPUT", ("input", "rows", "5", "lostReason"))],
        [("BAD_USER_INPUT", ("input", "rows", "6", "probability"))],
        [("BAD_USER_INPUT", ("input", "rows", "7", "externalRef"))],
        [("DUPLICATE", ("input", "rows", "8", "externalRef"))],
    ]


async def test_upserts_log_webhooks_with_before_and_after(api, org) -> None:
    await make_webhook(org.id, types=("company.created", "company.updated", "deal.created",
                                      "deal.updated", "deal.stage_changed"))
    await _companies(api, {"name": "Hooked", "domain": "hooked.example"})
    await _companies(api, {"name": "Hooked Inc", "domain": "hooked.example"})
    await _deals(api, {"externalRef": "W-1", "name": "W", "amount": "5"})
    await _deals(api, {"externalRef": "W-1", "amount": "6", "stageName": "Proposal"})
    events = await logged(org.id)
    assert [e["type"] for e in events] == ["company.created", "company.updated", "deal.created",
                                           "deal.updated", "deal.updated", "deal.stage_changed"]
    assert events[1]["data"]["changes"] == {"name": {"before": "Hooked", "after": "Hooked Inc"}}
    assert events[3]["data"]["changes"]["amount"]["before"]["amount"] == "5"
    assert events[5]["data"]["changes"]["stage"] == {"before": "Qualification",
                                                     "after": "Proposal"}


async def test_viewers_may_not_upsert_and_organizations_stay_apart(http, api, settings) -> None:
    org = await make_org()
    viewer = await make_user(org, Role.VIEWER)
    body = await Api(http, token_for(viewer, settings))(COMPANIES, rows=[{"name": "V"}])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other = Api(http, token_for(await make_user(org), settings))
    mine = await _companies(api, {"name": "Mine", "domain": "mine.example"})
    theirs = await _companies(other, {"name": "Mine", "domain": "mine.example"})
    assert theirs["created"] == 1
    assert theirs["results"][0]["company"]["id"] != mine["results"][0]["company"]["id"]
    company = mine["results"][0]["company"]["id"]
    result = await _deals(other, {"externalRef": "X", "name": "X", "amount": "1",
                                  "companyId": company})
    assert result["results"][0]["errors"][0]["code"] == "NOT_FOUND"
    _ = gid
