"""Cross-relation customer filters and dashboard aggregates through the GraphQL endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from db.enums import Channel, Direction, LifecycleStage, OrderStatus, Role
from db.prediction_models import Prediction
from tests.factories import (
    Api,
    gid,
    make_customer,
    make_interaction,
    make_order,
    make_org,
    make_user,
    token_for,
)

NOW = datetime.now(UTC)
CUSTOMERS = """
query($filter: CustomerFilter) {
  customers(first: 100, filter: $filter, orderBy: NAME_ASC) { nodes { name } totalCount }
}"""


async def _names(api: Api, filter: dict[str, object]) -> list[str]:
    data = await api.data(CUSTOMERS, filter=filter)
    names = [node["name"] for node in data["customers"]["nodes"]]
    assert data["customers"]["totalCount"] == len(names)
    return names


async def _shop(org, admin) -> None:  # type: ignore[no-untyped-def]
    """Ann: big recent spender; Ben: lapsed, inbound silence; Cy: nothing; Dee: refunds only."""
    ann = await make_customer(org, name="Ann", owner_id=admin.id, country="DE")
    await make_order(ann, amount=Decimal("900"), currency="USD", placed_at=NOW - timedelta(days=5))
    await make_interaction(ann, direction=Direction.INBOUND, occurred_at=NOW - timedelta(days=2))
    ben = await make_customer(org, name="Ben", stage=LifecycleStage.CUSTOMER, country="FR")
    await make_order(ben, amount=Decimal("40"), currency="USD", placed_at=NOW - timedelta(days=400))
    await make_order(ben, amount=Decimal("60"), currency="EUR", placed_at=NOW - timedelta(days=300))
    await make_interaction(ben, channel=Channel.EMAIL, direction=Direction.OUTBOUND,
                           occurred_at=NOW - timedelta(days=1))
    await make_interaction(ben, direction=Direction.INBOUND, occurred_at=NOW - timedelta(days=90))
    await make_customer(org, name="Cy", owner_id=admin.id)
    dee = await make_customer(org, name="Dee", stage=LifecycleStage.CUSTOMER, country="DE")
    await make_order(dee, amount=Decimal("500"), currency="USD", status=OrderStatus.REFUNDED,
                     placed_at=NOW - timedelta(days=20))
    await Prediction.create(
        organization_id=org.id, customer_id=ben.id, churn_risk=0.8, expected_revenue=10.0,
        segment="at_risk", model_version="t", as_of=NOW, horizon_days=90, scored_at=NOW,
    )
    await Prediction.create(
        organization_id=org.id, customer_id=ann.id, churn_risk=0.2, expected_revenue=300.0,
        segment="loyal", model_version="t", as_of=NOW, horizon_days=90, scored_at=NOW,
    )


async def test_order_facts_filter_customers(api, org, admin) -> None:
    await _shop(org, admin)
    year_ago = (NOW - timedelta(days=365)).isoformat()
    assert await _names(api, {"orders": {"totalSpent": {"gte": "100"}, "since": year_ago}}) == [
        "Ann"
    ]
    assert await _names(api, {"orders": {"hasOrderOver": "50", "currency": "EUR"}}) == ["Ben"]
    assert await _names(api, {"orders": {"lastOrderBefore": year_ago}}) == []
    assert await _names(api, {"orders": {"lastOrderBefore": NOW.isoformat(),
                                         "statuses": ["PAID", "REFUNDED"]}}) == [
        "Ann", "Ben", "Dee"
    ]
    assert await _names(api, {"orders": {"count": {"lte": 0}}}) == ["Cy", "Dee"]


async def test_interaction_owner_and_boolean_filters(api, org, admin) -> None:
    await _shop(org, admin)
    assert await _names(api, {"interactions": {"noInboundWithinDays": 30}}) == [
        "Ben", "Cy", "Dee"
    ]
    assert await _names(api, {"interactions": {"noneWithinDays": 30}}) == ["Cy", "Dee"]
    assert await _names(api, {"interactions": {"channels": ["EMAIL"], "count": {"gte": 1}}}) == [
        "Ben"
    ]
    assert await _names(api, {"owner": {"email": admin.email.upper()}}) == ["Ann", "Cy"]
    either = {"or": [{"owner": {"role": "ADMIN"}}, {"segments": ["at_risk"]}]}
    assert await _names(api, either) == ["Ann", "Ben", "Cy"]
    assert await _names(api, {"not": either}) == ["Dee"]
    assert await _names(api, {"and": [either, {"not": {"minChurnRisk": 0.5}}],
                              "countries": ["de"]}) == ["Ann"]


async def test_filters_never_see_other_organizations(api, org, admin) -> None:
    await _shop(org, admin)
    other = await make_org()
    stranger = await make_customer(other, name="Ann")
    await make_order(stranger, amount=Decimal("5000"), currency="USD")
    assert await _names(api, {"orders": {"hasOrderOver": "1000"}}) == []


async def test_bad_filters_are_user_errors(api) -> None:
    for filter, message in (
        ({"or": [{"deleted": True}]}, "top level"),
        ({"orders": {"currency": "EURO"}}, "ISO 4217"),
        ({"interactions": {"noneWithinDays": -1}}, "between"),
        ({"not": {"not": {"not": {"not": {"not": {"not": {"not": {}}}}}}}}, "nest"),
    ):
        body = await api(CUSTOMERS, filter=filter)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        assert message in body["errors"][0]["message"]


CUSTOMER_STATS = """
query($filter: CustomerFilter, $groupBy: [CustomerGroupBy!]) {
  customerStats(filter: $filter, groupBy: $groupBy) {
    truncated
    groups { stage country ownerId owner { name } month count scoredCount averageChurnRisk
             expectedRevenue }
  }
}"""


async def test_customer_stats_per_stage_and_owner(api, org, admin) -> None:
    await _shop(org, admin)
    data = await api.data(CUSTOMER_STATS, groupBy=["STAGE", "OWNER"])
    groups = data["customerStats"]["groups"]
    assert data["customerStats"]["truncated"] is False
    assert [(g["stage"], g["ownerId"], g["count"]) for g in groups] == [
        ("CUSTOMER", None, 2), ("LEAD", gid(admin), 2),
    ]
    assert groups[1]["owner"] == {"name": admin.name}
    assert groups[1]["scoredCount"] == 1
    assert groups[1]["averageChurnRisk"] == 0.2
    assert groups[0]["expectedRevenue"] == 10.0
    assert groups[0]["owner"] is None
    assert {g["country"] for g in groups} == {None}


async def test_customer_stats_without_groups_and_with_filter(api, org, admin) -> None:
    await _shop(org, admin)
    data = await api.data(CUSTOMER_STATS, filter={"countries": ["DE"]}, groupBy=["COUNTRY"])
    assert [(g["country"], g["count"]) for g in data["customerStats"]["groups"]] == [("DE", 2)]
    data = await api.data(CUSTOMER_STATS)
    (total,) = data["customerStats"]["groups"]
    assert (total["count"], total["scoredCount"]) == (4, 2)
    assert total["averageChurnRisk"] == 0.5
    month = await api.data(CUSTOMER_STATS, groupBy=["MONTH"])
    assert sum(g["count"] for g in month["customerStats"]["groups"]) == 4


ORDER_STATS = """
query($filter: OrderStatsFilter, $groupBy: [OrderGroupBy!]) {
  orderStats(filter: $filter, groupBy: $groupBy) {
    groups { status stage month currency count customerCount total { amount currency }
             average { amount } }
  }
}"""


async def test_order_stats_per_status_and_currency(api, org, admin) -> None:
    await _shop(org, admin)
    data = await api.data(ORDER_STATS, groupBy=["STATUS"])
    rows = [(g["status"], g["currency"], g["count"], g["customerCount"], g["total"]["amount"],
             g["average"]["amount"]) for g in data["orderStats"]["groups"]]
    assert rows == [
        ("PAID", "EUR", 1, 1, "60.00", "60.00"),
        ("PAID", "USD", 2, 2, "940.00", "470.00"),
        ("REFUNDED", "USD", 1, 1, "500.00", "500.00"),
    ]


async def test_order_stats_with_customer_filter_and_period(api, org, admin) -> None:
    await _shop(org, admin)
    filter = {
        "customer": {"stages": ["CUSTOMER"]}, "statuses": ["PAID"],
        "placedAfter": (NOW - timedelta(days=350)).isoformat(),
    }
    data = await api.data(ORDER_STATS, filter=filter, groupBy=["MONTH", "STAGE"])
    (group,) = data["orderStats"]["groups"]
    assert (group["stage"], group["currency"], group["total"]["amount"]) == (
        "CUSTOMER", "EUR", "60.00"
    )
    placed = NOW - timedelta(days=300)
    assert group["month"].startswith(f"{placed.year:04d}-{placed.month:02d}-01T00:00:00")


async def test_viewers_may_read_stats_and_strangers_may_not(http, org, settings) -> None:
    viewer = await make_user(org, role=Role.VIEWER)
    data = await Api(http, token_for(viewer, settings)).data(CUSTOMER_STATS)
    assert data["customerStats"]["groups"][0]["count"] == 0
    body = await Api(http)(CUSTOMER_STATS)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_order_stats_customer_count_through_fragments_and_without(api, org, admin) -> None:
    await _shop(org, admin)
    with_fragment = """
    query { orderStats(groupBy: [STATUS]) { groups { currency ...Who total { amount } } } }
    fragment Who on OrderStatsGroup { customerCount }"""
    data = await api.data(with_fragment)
    assert [g["customerCount"] for g in data["orderStats"]["groups"]] == [1, 2, 1]
    lean = await api.data("query { orderStats { groups { currency count average { amount } } } }")
    assert lean["orderStats"]["groups"] == [
        {"currency": "EUR", "count": 1, "average": {"amount": "60.00"}},
        {"currency": "USD", "count": 3, "average": {"amount": "480.00"}},
    ]
