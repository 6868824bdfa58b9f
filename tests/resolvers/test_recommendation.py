"""Recommendations through the API, from the demo organization's scheduled training."""

from __future__ import annotations

from db import prediction_registry as registry
from db.models import Customer
from db.product_models import Product
from db.sql import fetch
from tests.demo import Demo
from tests.factories import Api, gid, make_customer, token_for
from tests.statements import count_statements

PAGE = """
query($filter: RecommendationFilter) {
  customers(first: 50) { nodes { id recommendations(first: 5, filter: $filter) {
    product { sku category active } score reasons { kind basis basisProduct { sku name } } } } }
}"""


async def test_the_trained_demo_recommends_with_reasons(demo: Demo, http, settings) -> None:
    models = await registry.list_models(org_id=demo.org.id, kinds=["RECOMMENDATIONS"])
    assert models
    assert models[0]["activated"], models[0]["metrics"]
    metrics = models[0]["metrics"]
    assert metrics["model"]["recall_at_10"] > metrics["popularity"]["recall_at_10"]
    api = Api(http, token_for(demo.admin, settings))
    data = await api.data(PAGE)
    lists = [n["recommendations"] for n in data["customers"]["nodes"]]
    assert all(len(r) == 5 for r in lists)
    kinds = {reason["kind"] for r in lists for rec in r for reason in rec["reasons"]}
    assert "BOUGHT_WITH" in kinds
    for recs in lists:
        scores = [rec["score"] for rec in recs]
        assert scores == sorted(scores, reverse=True)
        for rec in recs:
            assert rec["product"]["active"]
            reason = rec["reasons"][0]
            if reason["kind"] == "BOUGHT_WITH":
                assert reason["basis"] == f"bought with {reason['basisProduct']['name']}"


async def test_filters_and_exclusions_hold(demo: Demo, http, settings) -> None:
    api = Api(http, token_for(demo.admin, settings))
    coffee = await api.data(PAGE, filter={"categories": ["Coffee"], "maxPrice": "100"})
    for node in coffee["customers"]["nodes"]:
        for rec in node["recommendations"]:
            assert rec["product"]["category"].startswith("Coffee/")
    bought = await fetch(
        "SELECT o.customer_id, array_agg(DISTINCT lower(li->>'sku')) AS skus"
        " FROM customer_order o, jsonb_array_elements(o.line_items) li"
        " WHERE o.organization_id = $1 AND o.status = 'PAID' GROUP BY o.customer_id",
        [demo.org.id])
    owned = {row["customer_id"]: set(row["skus"]) for row in bought}
    data = await api.data(PAGE)
    for node in data["customers"]["nodes"]:
        customer = await Customer.get(id=int(_pk(node["id"])))
        skus = {rec["product"]["sku"].lower() for rec in node["recommendations"]}
        assert not skus & owned.get(customer.id, set())  # excludePurchased by default


async def test_inactive_products_are_never_recommended(demo: Demo, http, settings) -> None:
    api = Api(http, token_for(demo.admin, settings))
    before = await api.data(PAGE)
    top = before["customers"]["nodes"][0]["recommendations"][0]["product"]["sku"]
    product = await Product.get(organization_id=demo.org.id, sku=top)
    await Product.filter(id=product.id).update(active=False)
    try:
        after = await api.data(PAGE)
        assert top not in {rec["product"]["sku"] for n in after["customers"]["nodes"]
                           for rec in n["recommendations"]}
    finally:
        await Product.filter(id=product.id).update(active=True)


async def test_a_customer_without_history_gets_what_is_popular(
    demo: Demo, http, settings
) -> None:
    newcomer = await make_customer(demo.org, name="New here", email="new.here@example.org")
    api = Api(http, token_for(demo.admin, settings))
    data = await api.data("query($id: ID!) { customer(id: $id) { recommendations(first: 3) {"
                          " reasons { kind } } } }", id=gid(newcomer))
    recs = data["customer"]["recommendations"]
    assert len(recs) == 3
    assert {rec["reasons"][0]["kind"] for rec in recs} == {"POPULAR"}


async def test_a_page_of_recommendations_costs_a_constant_number_of_statements(
    demo: Demo, http, settings
) -> None:
    api = Api(http, token_for(demo.admin, settings))
    counts = []
    for first in (5, 50):
        query = PAGE.replace("customers(first: 50)", f"customers(first: {first})")
        with count_statements() as statements:
            await api.data(query)
        counts.append(len(statements))
    # the products picks were bought with come in the lists' own statement (a page where some
    # pick had one used to cost a statement more than a page where none had)
    assert counts[0] == counts[1]


def _pk(global_id: str) -> str:
    from schema.node import parse_global_id

    return str(parse_global_id(global_id)[1])


async def test_bought_together(demo: Demo, http, settings) -> None:
    api = Api(http, token_for(demo.admin, settings))
    data = await api.data('{ products(first: 1, filter: {search: "grinder"}) { nodes { sku'
                          " boughtTogether(first: 3) { sku category } } } }")
    [grinder] = data["products"]["nodes"]
    assert grinder["boughtTogether"]
    assert any(p["category"].startswith("Coffee/") for p in grinder["boughtTogether"])
