"""Exchange rates through GraphQL, and the analytics that convert orders with them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from db.enums import Role
from db.models import Organization
from db.sql import fetch
from tests.factories import Api, gid, make_customer, make_order, make_org, make_user, token_for

ERRORS = "errors { code field message }"
SET = f"""
mutation($input: ExchangeRateInput!) {{
  setExchangeRate(input: $input) {{ exchangeRate {{ currency validOn rate }} {ERRORS} }}
}}"""
UPLOAD = f"""
mutation($rows: [ExchangeRateInput!]!) {{
  uploadExchangeRates(input: {{rows: $rows}}) {{
    created updated unchanged failed {ERRORS} results {{ index status {ERRORS} }}
  }}
}}"""
LIST = "query($c: String) { exchangeRates(currency: $c) { nodes { currency validOn rate } } }"
STATS = """
{ orderStats { groups { currency count total { amount currency }
    convertedTotal { amount currency } unconvertedCount } } }"""


async def test_set_replace_and_list_rates(api) -> None:
    made = await api.data(SET, input={"currency": "eur", "validOn": "2026-01-01", "rate": "1.1"})
    assert made["setExchangeRate"] == {"exchangeRate": {
        "currency": "EUR", "validOn": "2026-01-01", "rate": "1.1"}, "errors": []}
    await api.data(SET, input={"currency": "EUR", "validOn": "2026-01-01", "rate": "1.15"})
    upload = (await api.data(UPLOAD, rows=[
        {"currency": "EUR", "validOn": "2026-01-01", "rate": "1.15"},
        {"currency": "EUR", "validOn": "2026-02-01", "rate": "1.2"},
        {"currency": "GBP", "validOn": "2026-02-01", "rate": "1.3"},
    ]))["uploadExchangeRates"]
    assert [r["status"] for r in upload["results"]] == ["UNCHANGED", "CREATED", "CREATED"]
    listed = await api.data(LIST, c="EUR")
    assert listed["exchangeRates"]["nodes"] == [
        {"currency": "EUR", "validOn": "2026-02-01", "rate": "1.2"},
        {"currency": "EUR", "validOn": "2026-01-01", "rate": "1.15"}]


async def test_bad_rates_are_refused_per_field(api) -> None:
    data = await api.data(SET, input={"currency": "USD", "validOn": "2026-01-01", "rate": "-1"})
    errors = data["setExchangeRate"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [
        ("BAD_USER_INPUT", ["input", "currency"]), ("BAD_USER_INPUT", ["input", "rate"])]
    assert "organization's currency" in errors[0]["message"]
    upload = (await api.data(UPLOAD, rows=[
        {"currency": "EUR", "validOn": "2026-01-01", "rate": "1.123456789012"},
        {"currency": "E1R", "validOn": "2026-01-01", "rate": "1"},
        {"currency": "CHF", "validOn": "2026-01-01", "rate": "1"},
        {"currency": "chf", "validOn": "2026-01-01", "rate": "2"},
    ]))["uploadExchangeRates"]
    assert [r["status"] for r in upload["results"]] == ["FAILED", "FAILED", "CREATED", "FAILED"]
    assert [[e["field"] for e in r["errors"]] for r in upload["results"]] == [
        [["input", "rows", "0", "rate"]], [["input", "rows", "1", "currency"]], [],
        [["input", "rows", "3", "validOn"]]]
    assert (await api.data(LIST, c=None))["exchangeRates"]["nodes"] == [
        {"currency": "CHF", "validOn": "2026-01-01", "rate": "1"}]


async def test_only_admins_set_rates_and_organizations_stay_apart(http, api, org,
                                                                  settings) -> None:
    await api.data(SET, input={"currency": "EUR", "validOn": "2026-01-01", "rate": "1.1"})
    manager = Api(http, token_for(await make_user(org, Role.MANAGER), settings))
    body = await manager(SET, input={"currency": "EUR", "validOn": "2026-01-01", "rate": "2"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    viewer = Api(http, token_for(await make_user(org, Role.VIEWER), settings))
    assert len((await viewer.data(LIST, c=None))["exchangeRates"]["nodes"]) == 1
    stranger = Api(http, token_for(await make_user(await make_org()), settings))
    assert (await stranger.data(LIST, c=None))["exchangeRates"]["nodes"] == []


async def test_order_stats_convert_at_the_rate_of_the_day_and_report_the_rest(api, org) -> None:
    await Organization.filter(id=org.id).update(currency="USD")
    customer = await make_customer(org)
    await api.data(UPLOAD, rows=[{"currency": "EUR", "validOn": "2026-01-01", "rate": "1.1"},
                                 {"currency": "EUR", "validOn": "2026-01-15", "rate": "1.2"}])
    for amount, currency, day in (("100", "USD", 5), ("100", "EUR", 10), ("100", "EUR", 20),
                                  ("50", "GBP", 20), ("10", "EUR", 1)):
        await make_order(customer, amount=Decimal(amount), currency=currency,
                         placed_at=datetime(2026, 1, day, 12, tzinfo=UTC))
    await make_order(customer, amount=Decimal("10"), currency="EUR",
                     placed_at=datetime(2025, 12, 31, 12, tzinfo=UTC))  # before the first rate
    groups = {g["currency"]: g for g in (await api.data(STATS))["orderStats"]["groups"]}
    assert groups["EUR"]["total"] == {"amount": "220.00", "currency": "EUR"}  # unchanged
    assert groups["EUR"]["convertedTotal"] == {"amount": "241.00", "currency": "USD"}
    assert groups["EUR"]["unconvertedCount"] == 1
    assert groups["GBP"]["convertedTotal"]["amount"] == "0.00"
    assert groups["GBP"]["unconvertedCount"] == 1
    assert (groups["USD"]["convertedTotal"]["amount"], groups["USD"]["unconvertedCount"]) == (
        "100.00", 0)


async def test_lifetime_value_converts_each_order_at_its_day_and_lists_the_rest(
    api, org
) -> None:
    await Organization.filter(id=org.id).update(currency="USD")
    ada, bob = await make_customer(org), await make_customer(org)
    await api.data(UPLOAD, rows=[{"currency": "EUR", "validOn": "2026-01-01", "rate": "1.1"},
                                 {"currency": "EUR", "validOn": "2026-01-15", "rate": "1.2"}])
    for amount, currency, day, status in (
            ("100", "USD", 5, "PAID"), ("100", "EUR", 10, "PAID"), ("100", "EUR", 20, "PAID"),
            ("50", "GBP", 20, "PAID"), ("999", "EUR", 20, "CANCELLED")):
        await make_order(ada, amount=Decimal(amount), currency=currency, status=status,
                         placed_at=datetime(2026, 1, day, 12, tzinfo=UTC))
    await make_order(ada, amount=Decimal("10"), currency="EUR",
                     placed_at=datetime(2025, 12, 31, 12, tzinfo=UTC))  # before the first rate
    query = """query($a: ID!, $b: ID!) { a: customer(id: $a) { lifetimeValue { amount currency }
      lifetimeValueConverted { amount { amount currency } unconverted { amount currency } } }
      b: customer(id: $b) { lifetimeValueConverted { amount { amount currency }
      unconverted { amount } } } }"""
    data = await api.data(query, a=gid(ada), b=gid(bob))
    assert data["a"]["lifetimeValue"] == [  # as it was: per currency, nothing converted
        {"amount": "210.00", "currency": "EUR"}, {"amount": "50.00", "currency": "GBP"},
        {"amount": "100.00", "currency": "USD"}]
    assert data["a"]["lifetimeValueConverted"] == {
        "amount": {"amount": "330.00", "currency": "USD"},  # 100 + 110 + 120
        "unconverted": [{"amount": "10.00", "currency": "EUR"},
                        {"amount": "50.00", "currency": "GBP"}]}
    assert data["b"]["lifetimeValueConverted"] == {
        "amount": {"amount": "0.00", "currency": "USD"}, "unconverted": []}


DEAL_FIGURES = """{
  dealStats { count convertedAmount { amount { amount currency } unconverted { amount currency } }
    convertedWeightedAmount { amount { amount } unconverted { amount currency } } }
  dealStatsBy(groupBy: OWNER, filter: {statuses: [OPEN, WON]}) { count amount { amount currency }
    convertedAmount { amount { amount currency } unconverted { amount currency } } }
  dealForecast(months: 2) { months { count convertedWeightedAmount {
    amount { amount currency } unconverted { amount currency } } } }
}"""


async def test_deal_figures_convert_at_the_latest_rate_and_say_what_they_could_not(
    api, org
) -> None:
    await Organization.filter(id=org.id).update(currency="USD")
    today = datetime.now(UTC).date()
    await api.data(UPLOAD, rows=[{"currency": "EUR", "validOn": "2020-01-01", "rate": "1.5"},
                                 {"currency": "EUR", "validOn": today.isoformat(), "rate": "2"},
                                 {"currency": "EUR", "validOn": "2099-01-01", "rate": "9"}])
    create = """mutation($input: CreateDealInput!) { createDeal(input: $input) {
      deal { id } errors { code } } }"""
    month_end = today.replace(day=28).isoformat()
    for name, amount, currency, status in (("usd", "100", "USD", "OPEN"),
                                           ("eur", "100", "EUR", "OPEN"),
                                           ("gbp", "40", "GBP", "OPEN"),
                                           ("won", "10", "EUR", "WON")):
        made = await api.data(create, input={"name": name, "amount": amount, "currency": currency,
                                             "status": status, "expectedCloseOn": month_end,
                                             "probability": 50})
        assert made["createDeal"]["errors"] == []
    # the won deal closed long ago: it is valued at the rate of that day
    await fetch("UPDATE deal SET closed_at = '2021-06-01' WHERE organization_id = $1"
                " AND status = 'WON'", [org.id])
    data = await api.data(DEAL_FIGURES)
    stages = [s for s in data["dealStats"] if s["count"]]
    assert [s["count"] for s in stages] == [3]  # open deals, first stage
    [first] = stages
    assert first["convertedAmount"] == {
        "amount": {"amount": "300.00", "currency": "USD"},  # 100 + 100 x 2 (today's rate)
        "unconverted": [{"amount": "40.00", "currency": "GBP"}]}
    assert first["convertedWeightedAmount"] == {
        "amount": {"amount": "150.00"}, "unconverted": [{"amount": "20.00", "currency": "GBP"}]}
    [owner] = data["dealStatsBy"]
    assert owner["count"] == 4
    assert owner["convertedAmount"] == {
        "amount": {"amount": "315.00", "currency": "USD"},  # + 10 x 1.5 (closed in 2021)
        "unconverted": [{"amount": "40.00", "currency": "GBP"}]}
    this_month = data["dealForecast"]["months"][0]
    assert this_month["count"] == 3
    assert this_month["convertedWeightedAmount"] == {
        "amount": {"amount": "150.00", "currency": "USD"},
        "unconverted": [{"amount": "20.00", "currency": "GBP"}]}
    empty = data["dealForecast"]["months"][1]["convertedWeightedAmount"]
    assert empty == {"amount": {"amount": "0.00", "currency": "USD"}, "unconverted": []}
