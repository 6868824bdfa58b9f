"""Custom predictions through the graph: definitions, scores, filters, order, roles, webhooks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from db import customer_score as scores
from db.enums import Role
from db.sql import fetch
from schema.node import to_global_id
from tests.factories import Api, gid, make_customer, make_org, make_user, token_for
from tests.webhook_receiver import logged, make_webhook

DEFINE = """mutation($input: DefinePredictionInput!) { definePrediction(input: $input) {
  prediction { id name horizonDays status message outcome { kind orderStatus tag text } }
  errors { code field message } } }"""
UPDATE = """mutation($input: UpdatePredictionInput!) { updatePrediction(input: $input) {
  prediction { id name horizonDays status } errors { code field message } } }"""
DELETE = """mutation($id: ID!) { deletePrediction(id: $id) { deletedId
  errors { code field message } } }"""
LIST = "{ predictionDefinitions { name horizonDays status outcome { kind text } } }"
REFUND = {"name": "refund_risk", "horizonDays": 30,
          "outcome": {"kind": "ORDER_STATUS", "orderStatus": "REFUNDED"}}
CUSTOMERS = """query($filter: CustomerFilter, $order: ScoreOrder) {
  customers(first: 10, filter: $filter, orderByScore: $order) { edges { node { name
    scores { name probability band reasons { about text } modelVersion } } } } }"""


async def _define(api: Api, **input: Any) -> dict[str, Any]:
    data = (await api.data(DEFINE, input={**REFUND, **input}))["definePrediction"]
    assert data["errors"] == [], data
    return data["prediction"]  # type: ignore[no-any-return]


async def test_an_admin_defines_updates_and_deletes_predictions(api) -> None:  # type: ignore[no-untyped-def]
    made = await _define(api)
    assert made["status"] == "NOT_TRAINED"
    assert made["outcome"] == {"kind": "ORDER_STATUS", "orderStatus": "REFUNDED", "tag": None,
                               "text": "place an order that ends up refunded"}
    renamed = (await api.data(UPDATE, input={"id": made["id"], "name": "refunds",
                                             "horizonDays": 60}))["updatePrediction"]
    assert renamed["prediction"]["name"] == "refunds"
    assert renamed["prediction"]["horizonDays"] == 60
    assert [d["name"] for d in (await api.data(LIST))["predictionDefinitions"]] == ["refunds"]
    deleted = (await api.data(DELETE, id=made["id"]))["deletePrediction"]
    assert deleted == {"deletedId": made["id"], "errors": []}
    again = (await api.data(DELETE, id=made["id"]))["deletePrediction"]
    assert again["errors"][0]["code"] == "NOT_FOUND"


async def test_bad_definitions_are_refused_with_field_paths(api) -> None:  # type: ignore[no-untyped-def]
    await _define(api)

    async def errors(**input: Any) -> list[dict[str, Any]]:
        data = await api.data(DEFINE, input={**REFUND, **input})
        assert data["definePrediction"]["prediction"] is None
        return data["definePrediction"]["errors"]  # type: ignore[no-any-return]

    assert (await errors())[0]["code"] == "DUPLICATE"
    assert (await errors(name="Refund Risk"))[0]["field"] == ["input", "name"]
    assert (await errors(name="b", horizonDays=3))[0]["field"] == ["input", "horizonDays"]
    tagless = await errors(name="c", outcome={"kind": "TAG_ADDED"})
    assert tagless[0]["field"] == ["input", "outcome", "tag"]
    paid = await errors(name="d", outcome={"kind": "ORDER_STATUS", "orderStatus": "PAID"})
    assert paid[0]["field"] == ["input", "outcome", "status"]
    days = await errors(name="e", outcome={"kind": "ORDER_UNPAID", "days": 0})
    assert days[0]["field"] == ["input", "outcome", "days"]


async def test_only_admins_define_and_everyone_reads(http, org, settings) -> None:  # type: ignore[no-untyped-def]
    admin = Api(http, token_for(await make_user(org, role=Role.ADMIN), settings))
    await _define(admin)
    for role in (Role.MANAGER, Role.AGENT, Role.VIEWER):
        api = Api(http, token_for(await make_user(org, role=role), settings))
        response = await api(DEFINE, input={**REFUND, "name": "x"})
        assert response["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert len((await api.data(LIST))["predictionDefinitions"]) == 1
    other = Api(http, token_for(await make_user(await make_org()), settings))
    assert (await other.data(LIST))["predictionDefinitions"] == []


async def _scored(org_id: int, definition_gid: str, values: dict[int, float]) -> None:
    definition_id = int(await _pk(definition_gid))
    reasons = [[{"feature": "tag:trial", "direction": "UP", "weight": 0.3,
                 "about": "refund_risk", "text": "tagged \"trial\", which raises the chance"}]]
    await scores.write(scores.ScoreBatch(list(values), list(values.values()),
                                         reasons * len(values)),
                       org_id=org_id, definition_id=definition_id, model_version=1,
                       scored_at=datetime.now(UTC))


async def _pk(global_id: str) -> int:
    from schema.node import parse_global_id
    return parse_global_id(global_id)[1]


async def test_scores_are_served_filtered_and_sorted(api, org) -> None:  # type: ignore[no-untyped-def]
    made = await _define(api)
    low, high, mid = [await make_customer(org, name=n) for n in ("Low", "High", "Mid")]
    unscored = await make_customer(org, name="Unscored")
    await _scored(org.id, made["id"], {low.id: 0.1, high.id: 0.8, mid.id: 0.45})
    ordered = await api.data(CUSTOMERS, order={"name": "refund_risk"})
    names = [e["node"]["name"] for e in ordered["customers"]["edges"]]
    assert names == ["High", "Mid", "Low", unscored.name]
    top = ordered["customers"]["edges"][0]["node"]["scores"]
    assert top == [{"name": "refund_risk", "probability": 0.8, "band": "HIGH", "modelVersion": 1,
                    "reasons": [{"about": "refund_risk",
                                 "text": "tagged \"trial\", which raises the chance"}]}]
    ascending = await api.data(CUSTOMERS, order={"name": "refund_risk", "descending": False})
    assert [e["node"]["name"] for e in ascending["customers"]["edges"]][:3] == [
        "Low", "Mid", "High"]
    risky = await api.data(CUSTOMERS, filter={"scores": [{"name": "refund_risk", "min": 0.4}]})
    assert {e["node"]["name"] for e in risky["customers"]["edges"]} == {"High", "Mid"}
    banded = await api.data(CUSTOMERS, filter={"not": {"scores": [
        {"name": "refund_risk", "bands": ["HIGH", "MEDIUM"]}]}})
    assert {e["node"]["name"] for e in banded["customers"]["edges"]} == {"Low", "Unscored"}
    malformed = await api(CUSTOMERS, order={"name": "Not A Name"})
    assert malformed["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT",
                                                    "field": ["orderByScore", "name"]}
    unknown = await api.data(CUSTOMERS, order={"name": "nope"})  # nobody has that score
    assert len(unknown["customers"]["edges"]) == 4
    assert (await api.data(CUSTOMERS, filter={"scores": [{"name": "nope"}]}))[
        "customers"]["edges"] == []


async def test_a_new_outcome_retires_the_scores(api, org) -> None:  # type: ignore[no-untyped-def]
    made = await _define(api)
    customer = await make_customer(org)
    await _scored(org.id, made["id"], {customer.id: 0.5})
    await api.data(UPDATE, input={"id": made["id"], "name": "renamed"})
    assert await fetch("SELECT 1 FROM customer_score WHERE customer_id = $1", [customer.id])
    changed = await api.data(UPDATE, input={"id": made["id"], "outcome": {
        "kind": "TAG_ADDED", "tag": "refunder"}})
    assert changed["updatePrediction"]["errors"] == []
    assert changed["updatePrediction"]["prediction"]["status"] == "NOT_TRAINED"
    assert await fetch("SELECT 1 FROM customer_score WHERE customer_id = $1", [customer.id]) == []


async def test_a_webhook_hears_when_a_score_crosses_a_band(api, org) -> None:  # type: ignore[no-untyped-def]
    await make_webhook(org.id)
    made = await _define(api)
    a, b = await make_customer(org), await make_customer(org)
    await _scored(org.id, made["id"], {a.id: 0.1, b.id: 0.5})
    await _scored(org.id, made["id"], {a.id: 0.2, b.id: 0.55})  # same bands: nothing
    await _scored(org.id, made["id"], {a.id: 0.7, b.id: 0.5})  # a: LOW -> HIGH
    events = [e for e in await logged(org.id) if e["type"] == "prediction.changed"]
    assert [(e["customer_id"], e["data"]["prediction"], e["data"]["changes"]["band"])
            for e in events] == [
        (a.id, "refund_risk", {"before": None, "after": "LOW"}),
        (b.id, "refund_risk", {"before": None, "after": "MEDIUM"}),
        (a.id, "refund_risk", {"before": "LOW", "after": "HIGH"}),
    ]
    assert events[-1]["data"]["customerId"] == gid(a)
    assert events[-1]["data"]["probability"] == 0.7


async def test_tag_and_stage_history_is_recorded_for_learning(org) -> None:  # type: ignore[no-untyped-def]
    customer = await make_customer(org, tags=["a"])
    await fetch("UPDATE customer SET tags = '{b}', stage = 'CUSTOMER' WHERE id = $1",
                [customer.id])
    rows = await fetch("SELECT field, value, removed FROM customer_change WHERE customer_id = $1"
                       " ORDER BY id", [customer.id])
    assert [(r["field"], r["value"], r["removed"]) for r in rows] == [
        ("tag", "a", False), ("stage", "LEAD", False),
        ("tag", "b", False), ("tag", "a", True), ("stage", "CUSTOMER", False)]
    assert to_global_id("Customer", customer.id) == gid(customer)
