"""Cross-object filters and deal figures through GraphQL: customers by their deals, quiet
companies, stats grouped by stage/owner/month, and the deal-based forecast."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from db.sales_models import Company, CompanyMembership, Deal
from tests.factories import (
    Api,
    gid,
    make_customer,
    make_interaction,
    make_org,
    make_user,
    token_for,
)

CREATE = """mutation($input: CreateDealInput!) {
  createDeal(input: $input) { deal { id } errors { code field message } } }"""
PIPELINES = "{ pipelines { stages { id name } } }"


async def _stages(api: Api) -> dict[str, str]:
    data = await api.data(PIPELINES)
    return {s["name"]: s["id"] for s in data["pipelines"][0]["stages"]}


async def _deal(api: Api, **values: Any) -> str:
    data = await api.data(CREATE, input={"name": "Deal", "amount": "1000"} | values)
    assert data["createDeal"]["errors"] == [], data
    return str(data["createDeal"]["deal"]["id"])


def _month(offset: int) -> date:
    today = datetime.now(UTC).date()
    index = today.year * 12 + today.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


async def test_customers_with_an_open_deal_over_an_amount_in_a_stage(api, org) -> None:
    stages = await _stages(api)
    ada, bob, cy, di = [await make_customer(org, name=n) for n in ("Ada", "Bob", "Cy", "Di")]
    await _deal(api, amount="5000", stageId=stages["Proposal"], personIds=[gid(ada)])
    await _deal(api, amount="500", stageId=stages["Proposal"], personIds=[gid(bob)])
    await _deal(api, amount="9000", stageId=stages["Qualification"], personIds=[gid(cy)])
    won = await _deal(api, amount="7000", stageId=stages["Proposal"], personIds=[gid(di)])
    closed = await api.data("mutation($id: ID!) { updateDeal(input: {id: $id, status: WON})"
                            " { errors { field } } }", id=won)
    assert closed["updateDeal"]["errors"] == []
    query = """query($f: CustomerFilter) { customers(filter: $f, orderBy: NAME_ASC)
      { nodes { name } } }"""

    async def names(deals: dict[str, Any]) -> list[str]:
        data = await api.data(query, f={"deals": deals})
        return [n["name"] for n in data["customers"]["nodes"]]

    assert await names({"amountOver": "1000", "stageIds": [stages["Proposal"]]}) == ["Ada"]
    assert await names({"amountOver": "1000"}) == ["Ada", "Cy"]
    assert await names({"stageIds": [stages["Proposal"]]}) == ["Ada", "Bob"]
    assert await names({"statuses": ["WON"]}) == ["Di"]
    assert await names({"count": {"lte": 0}}) == ["Di"]
    nested = await api.data(query, f={"not": {"deals": {}}})
    assert [n["name"] for n in nested["customers"]["nodes"]] == ["Di"]


async def test_a_bad_deal_condition_names_its_field(api) -> None:
    body = await api("{ customers(filter: {deals: {currency: \"euro\"}}) { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["path"] == ["customers"]
    assert "currency" in body["errors"][0]["message"]


async def test_companies_with_no_activity_in_n_days(api, org) -> None:
    old = datetime.now(UTC) - timedelta(days=90)
    quiet, talked, dealing, lapsed = [
        await Company.create(organization_id=org.id, name=n)
        for n in ("Quiet", "Talked", "Dealing", "Lapsed")]
    for company, days in ((quiet, 90), (talked, 5), (lapsed, 5)):
        person = await make_customer(org)
        await CompanyMembership.create(organization_id=org.id, company=company, customer=person,
                                       ended_on=date(2020, 1, 1) if company is lapsed else None)
        await make_interaction(person, occurred_at=datetime.now(UTC) - timedelta(days=days))
    await _deal(api, companyId=_gid("Company", dealing.id))
    await Company.filter(id__in=[quiet.id, talked.id, dealing.id, lapsed.id]).update(
        created_at=old)
    data = await api.data("""{ companies(filter: {noActivityWithinDays: 60}, orderBy: NAME_ASC)
      { nodes { name } } }""")
    assert [n["name"] for n in data["companies"]["nodes"]] == ["Lapsed", "Quiet"]
    bad = await api("{ companies(filter: {noActivityWithinDays: -1}) { totalCount } }")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_stats_by_stage_owner_and_month_match_hand_computed_values(api, org) -> None:
    stages = await _stages(api)  # probabilities 10, 25, 50, 75
    owner = await make_user(org, name="Olive")
    this, next_ = _month(0), _month(1)
    await _deal(api, amount="1000", stageId=stages["Qualification"], ownerId=gid(owner),
                expectedCloseOn=str(this))
    await _deal(api, amount="400", stageId=stages["Proposal"], ownerId=gid(owner),
                expectedCloseOn=str(next_.replace(day=15)))
    await _deal(api, amount="200", stageId=stages["Proposal"], probability=90,
                expectedCloseOn=str(next_))
    await _deal(api, amount="300", currency="EUR", stageId=stages["Negotiation"])
    query = """query($by: DealGroupBy!) { dealStatsBy(groupBy: $by) { count month
      stage { name } owner { name } amount { amount currency }
      weightedAmount { amount currency } } }"""
    by_stage = (await api.data(query, by="STAGE"))["dealStatsBy"]
    assert [(g["stage"]["name"], g["count"], g["amount"], g["weightedAmount"])
            for g in by_stage] == [
        ("Qualification", 1, [{"amount": "1000.00", "currency": "USD"}],
         [{"amount": "100.00", "currency": "USD"}]),  # 1000 x 10 %
        ("Proposal", 2, [{"amount": "600.00", "currency": "USD"}],
         [{"amount": "380.00", "currency": "USD"}]),  # 400 x 50 % + 200 x 90 %
        ("Negotiation", 1, [{"amount": "300.00", "currency": "EUR"}],
         [{"amount": "225.00", "currency": "EUR"}]),  # 300 x 75 %
    ]
    by_owner = (await api.data(query, by="OWNER"))["dealStatsBy"]
    assert [(g["owner"] and g["owner"]["name"], g["count"], g["weightedAmount"])
            for g in by_owner] == [
        ("Olive", 2, [{"amount": "300.00", "currency": "USD"}]),  # 100 + 200
        (None, 2, [{"amount": "225.00", "currency": "EUR"},
                   {"amount": "180.00", "currency": "USD"}]),
    ]
    by_month = (await api.data(query, by="MONTH"))["dealStatsBy"]
    assert [(g["month"], g["count"], g["weightedAmount"]) for g in by_month] == [
        (str(this), 1, [{"amount": "100.00", "currency": "USD"}]),
        (str(next_), 2, [{"amount": "380.00", "currency": "USD"}]),
        (None, 1, [{"amount": "225.00", "currency": "EUR"}]),
    ]


async def test_the_deal_forecast_weights_open_deals_by_close_month(api, org) -> None:
    stages = await _stages(api)
    this, next_ = _month(0), _month(1)
    await _deal(api, amount="1000", stageId=stages["Proposal"], expectedCloseOn=str(this))
    await _deal(api, amount="400", stageId=stages["Negotiation"],
                expectedCloseOn=str(next_.replace(day=20)))
    await _deal(api, amount="100", stageId=stages["Proposal"], expectedCloseOn="2001-01-01")
    await _deal(api, amount="100", stageId=stages["Proposal"])
    await _deal(api, amount="800", expectedCloseOn=str(_month(9)))  # beyond 3 months
    lost = await _deal(api, amount="999", expectedCloseOn=str(this))
    closed = await api.data("mutation($id: ID!) { updateDeal(input: {id: $id, status: LOST,"
                            " lostReason: \"price\"}) { errors { field } } }", id=lost)
    assert closed["updateDeal"]["errors"] == []
    data = await api.data("""{ dealForecast(months: 3) { undatedCount
      overdue { month count weightedAmount { amount } }
      months { month count amount { amount } weightedAmount { amount currency } } } }""")
    forecast = data["dealForecast"]
    assert forecast["undatedCount"] == 1
    assert forecast["overdue"] == {"month": str(this), "count": 1,
                                   "weightedAmount": [{"amount": "50.00"}]}
    assert forecast["months"] == [
        {"month": str(this), "count": 1, "amount": [{"amount": "1000.00"}],
         "weightedAmount": [{"amount": "500.00", "currency": "USD"}]},
        {"month": str(next_), "count": 1, "amount": [{"amount": "400.00"}],
         "weightedAmount": [{"amount": "300.00", "currency": "USD"}]},
        {"month": str(_month(2)), "count": 0, "amount": [], "weightedAmount": []},
    ]
    bad = await api("{ dealForecast(months: 0) { undatedCount } }")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert bad["errors"][0]["extensions"].get("field", ["months"]) == ["months"]


async def test_figures_stay_inside_the_organization(http, settings, api, org) -> None:
    ada = await make_customer(org, name="Ada")
    await _deal(api, amount="5000", personIds=[gid(ada)], expectedCloseOn=str(_month(0)))
    other = Api(http, token_for(await make_user(await make_org()), settings))
    data = await other.data("""{ customers(filter: {deals: {}}) { totalCount }
      dealStatsBy(groupBy: STAGE) { count } dealForecast { months { count } } }""")
    assert data["customers"]["totalCount"] == 0
    assert data["dealStatsBy"] == []
    assert all(m["count"] == 0 for m in data["dealForecast"]["months"])
    assert await Deal.filter(organization_id=org.id).count() == 1


def _gid(type_name: str, pk: int) -> str:
    from schema.node import to_global_id

    return to_global_id(type_name, pk)
