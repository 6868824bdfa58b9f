"""Deals in pipelines through the GraphQL endpoint: writes, moves with history, stats."""

from __future__ import annotations

from typing import Any

from db.enums import Role
from db.sales_models import Deal
from tests.factories import Api, gid, make_customer, make_org, make_user, token_for
from tests.webhook_receiver import logged, make_webhook

FIELDS = """id name amount { amount currency } probability probabilityOverridden
  weightedAmount { amount } status lostReason closedAt expectedCloseOn
  stage { id name } pipeline { name } company { name } people { name }
  stageHistory { fromStage toStage changedBy { id } }"""
CREATE = f"""
mutation($input: CreateDealInput!) {{
  createDeal(input: $input) {{ deal {{ {FIELDS} }} errors {{ code field message }} }}
}}"""
UPDATE = f"""
mutation($input: UpdateDealInput!) {{
  updateDeal(input: $input) {{ deal {{ {FIELDS} }} errors {{ code field message }} }}
}}"""
MOVE = f"""
mutation($input: MoveDealInput!) {{
  moveDeal(input: $input) {{ deal {{ {FIELDS} }} errors {{ code field message }} }}
}}"""
PIPELINES = "{ pipelines { id name isDefault stages { id name position probability } } }"


async def _stages(api: Api) -> dict[str, str]:
    data = await api.data(PIPELINES)
    return {s["name"]: s["id"] for s in data["pipelines"][0]["stages"]}


async def _deal(api: Api, **values: Any) -> dict[str, Any]:
    data = await api.data(CREATE, input={"name": "Big deal", "amount": "1000"} | values)
    assert data["createDeal"]["errors"] == [], data
    return data["createDeal"]["deal"]  # type: ignore[no-any-return]


async def test_every_organization_has_a_default_pipeline(api) -> None:
    data = await api.data(PIPELINES)
    [pipeline] = data["pipelines"]
    assert pipeline["isDefault"]
    assert pipeline["name"] == "Sales"
    assert [(s["name"], s["position"], s["probability"]) for s in pipeline["stages"]] == [
        ("Qualification", 1, 10), ("Needs analysis", 2, 25), ("Proposal", 3, 50),
        ("Negotiation", 4, 75)]


async def test_a_deal_starts_in_the_first_stage_with_its_probability(api, admin, org) -> None:
    ada = await make_customer(org, name="Ada")
    company = (await api.data("mutation { createCompany(input: {name: \"ACME\"})"
                              " { company { id } } }"))["createCompany"]["company"]
    deal = await _deal(api, currency="eur", expectedCloseOn="2031-03-31",
                       companyId=company["id"], personIds=[gid(ada), gid(ada)])
    assert deal["amount"] == {"amount": "1000.00", "currency": "EUR"}
    assert deal["stage"]["name"] == "Qualification"
    assert deal["pipeline"]["name"] == "Sales"
    assert (deal["probability"], deal["probabilityOverridden"]) == (10, False)
    assert deal["weightedAmount"] == {"amount": "100.00"}
    assert deal["company"] == {"name": "ACME"}
    assert deal["people"] == [{"name": "Ada"}]
    assert deal["stageHistory"] == [{"fromStage": None, "toStage": "Qualification",
                                     "changedBy": {"id": gid(admin)}}]
    default = await _deal(api)
    assert default["amount"]["currency"] == "USD"  # the organization's


async def test_move_records_history_and_announces_the_stage_change(api, org) -> None:
    await make_webhook(org.id, types=("deal.stage_changed",))
    stages = await _stages(api)
    deal = await _deal(api, probability=40)
    moved = (await api.data(MOVE, input={"id": deal["id"], "stageId": stages["Proposal"]}))
    deal = moved["moveDeal"]["deal"]
    assert deal["stage"]["name"] == "Proposal"
    assert deal["probability"] == 40  # its own, not the stage's
    again = await api.data(MOVE, input={"id": deal["id"], "stageId": stages["Proposal"]})
    assert len(again["moveDeal"]["deal"]["stageHistory"]) == 2  # no move, no history
    assert [(h["fromStage"], h["toStage"]) for h in deal["stageHistory"]] == [
        (None, "Qualification"), ("Qualification", "Proposal")]
    events = await logged(org.id)
    assert [e["type"] for e in events] == ["deal.created", "deal.updated", "deal.stage_changed"]
    assert events[1]["data"]["changes"]["stageId"]["after"] == stages["Proposal"]
    event = events[2]
    assert event["type"] == "deal.stage_changed"
    assert event["data"]["changes"]["stage"] == {"before": "Qualification", "after": "Proposal"}
    assert event["data"]["changes"]["stageId"]["after"] == stages["Proposal"]


async def test_update_status_and_probability_back_to_the_stage(api) -> None:
    deal = await _deal(api, probability=90)
    data = await api.data(UPDATE, input={"id": deal["id"], "probability": None,
                                         "status": "LOST"})
    assert data["updateDeal"]["errors"] == [{"code": "BAD_USER_INPUT",
                                             "field": ["input", "lostReason"],
                                             "message": "say why the deal was lost"}]
    data = await api.data(UPDATE, input={"id": deal["id"], "probability": None,
                                         "status": "LOST", "lostReason": "Too expensive"})
    lost = data["updateDeal"]["deal"]
    assert (lost["status"], lost["lostReason"], lost["probability"]) == ("LOST",
                                                                         "Too expensive", 0)
    assert lost["closedAt"] is not None
    data = await api.data(UPDATE, input={"id": deal["id"], "status": "OPEN"})
    reopened = data["updateDeal"]["deal"]
    assert (reopened["probability"], reopened["lostReason"], reopened["closedAt"]) == (
        10, None, None)


async def test_bad_input_is_reported_per_field_and_nothing_is_written(api, org) -> None:
    other = await make_customer(await make_org())
    data = await api.data(CREATE, input={
        "name": "", "amount": "-1", "currency": "euro", "probability": 101,
        "personIds": [gid(other)],
    })
    fields = sorted(e["field"] for e in data["createDeal"]["errors"])
    assert fields == [["input", "amount"], ["input", "currency"], ["input", "name"],
                      ["input", "personIds"], ["input", "probability"]]
    stranger = await api.data(CREATE, input={"name": "x", "amount": "1",
                                             "stageId": "UGlwZWxpbmVTdGFnZTox"})
    assert stranger["createDeal"]["errors"][0]["field"] == ["input", "stageId"]
    assert await Deal.filter(organization_id=org.id).count() == 0


async def test_filters_orderings_and_tenant_isolation(api, http, settings) -> None:
    stages = await _stages(api)
    await _deal(api, name="Small", amount="10")
    await _deal(api, name="Large", amount="5000", stageId=stages["Negotiation"])
    data = await api.data("""query($stage: ID!) {
        big: deals(orderBy: AMOUNT_DESC) { nodes { name } }
        staged: deals(filter: {stageIds: [$stage]}) { totalCount nodes { name } }
        found: deals(filter: {search: "sma", minAmount: "1"}) { nodes { name } } }""",
                          stage=stages["Negotiation"])
    assert [n["name"] for n in data["big"]["nodes"]] == ["Large", "Small"]
    assert data["staged"] == {"totalCount": 1, "nodes": [{"name": "Large"}]}
    assert data["found"]["nodes"] == [{"name": "Small"}]
    other = Api(http, token_for(await make_user(await make_org()), settings))
    assert (await other.data("{ deals { totalCount } }"))["deals"]["totalCount"] == 0
    move = await other.data(MOVE, input={"id": data["big"]["nodes"] and (
        await api.data("{ deals(first: 1) { nodes { id } } }"))["deals"]["nodes"][0]["id"],
        "stageId": stages["Proposal"]})
    assert move["moveDeal"]["errors"][0]["code"] == "NOT_FOUND"


async def test_deal_stats_by_stage_with_weighted_value(api) -> None:
    stages = await _stages(api)
    await _deal(api, amount="1000")  # Qualification, 10 %
    await _deal(api, amount="500", stageId=stages["Proposal"])  # 50 %
    await _deal(api, amount="300", stageId=stages["Proposal"], probability=100)
    await _deal(api, amount="700", stageId=stages["Proposal"], status="WON")  # not open
    data = await api.data("{ dealStats { stage { name } count amount { amount currency }"
                          " weightedAmount { amount } } }")
    stats = {s["stage"]["name"]: s for s in data["dealStats"]}
    assert list(stats) == ["Qualification", "Needs analysis", "Proposal", "Negotiation"]
    assert stats["Qualification"]["weightedAmount"] == [{"amount": "100.00"}]
    assert stats["Proposal"]["count"] == 2
    assert stats["Proposal"]["amount"] == [{"amount": "800.00", "currency": "USD"}]
    assert stats["Proposal"]["weightedAmount"] == [{"amount": "550.00"}]
    assert stats["Negotiation"] == {"stage": {"name": "Negotiation"}, "count": 0,
                                    "amount": [], "weightedAmount": []}


async def test_viewers_read_agents_write_managers_delete(http, org, settings) -> None:
    viewer = Api(http, token_for(await make_user(org, role=Role.VIEWER), settings))
    agent = Api(http, token_for(await make_user(org, role=Role.AGENT), settings))
    refused = await viewer(CREATE, input={"name": "x", "amount": "1"})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    deal = await _deal(agent)
    delete = "mutation($id: ID!) { deleteDeal(id: $id) { deal { deletedAt } errors { code } } }"
    assert (await agent(delete, id=deal["id"]))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    manager = Api(http, token_for(await make_user(org, role=Role.MANAGER), settings))
    assert (await manager.data(delete, id=deal["id"]))["deleteDeal"]["errors"] == []
    assert (await viewer.data("{ deals { totalCount } }"))["deals"]["totalCount"] == 0
