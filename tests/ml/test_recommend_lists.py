"""Stored recommendation lists: what a training run writes is what the ranker picked, pick by
pick (product, score, kind, the product it was bought with, whether it was bought before)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from tortoise.transactions import in_transaction

from db import recommendation as recommendations
from db.models import Organization
from db.product_models import Product
from db.sql import fetch
from ml import recommend
from ml.order_lines import Lines
from ml.recommend_job import lists_of
from tests.factories import make_customer
from tests.ml.test_recommend import END, SKUS, simulate


async def test_stored_lists_are_the_rankers_picks(org: Organization) -> None:
    lines, segments = simulate(40, seed=11)
    customer_id = {i: (await make_customer(org, name=f"Buyer {i}")).id for i in segments}
    product_id = {i + 1: (await Product.create(
        organization_id=org.id, sku=sku, name=sku, price=Decimal(10), currency="USD")).id
        for i, sku in enumerate(SKUS)}
    ours = Lines(np.array([customer_id[int(c)] for c in lines.customer], np.int64),
                 np.array([product_id[int(p)] for p in lines.product], np.int64),
                 lines.day, lines.quantity)
    ours_segments = {customer_id[c]: s for c, s in segments.items()}
    products = np.array(sorted(product_id.values()), np.int64)
    model = recommend.fit(ours, products, END, ours_segments)
    active = np.ones(len(products), dtype=bool)
    active[[0, 5]] = False
    async with in_transaction() as conn:
        await recommendations.replace(org_id=org.id, lists=lists_of(
            model, ours, active, ours_segments), using=conn)

    stored = {r["customer_id"]: r for r in await fetch(
        "SELECT customer_id, product_ids, scores, kinds, basis_product_ids, purchased"
        " FROM recommendation_list WHERE organization_id = $1", [org.id])}
    customers, matrix = recommend.history_matrix(ours, model)
    expected = recommend.recommend_many(model, matrix, [ours_segments[int(c)] for c in customers],
                                        k=recommendations.PER_CUSTOMER, allowed=active)
    assert sorted(stored) == sorted(customers.tolist())
    kinds = set()
    for row, (customer, picks) in enumerate(zip(customers.tolist(), expected, strict=True)):
        got = stored[customer]
        bought = set(matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]].tolist())
        assert got["product_ids"] == [int(products[p.column]) for p in picks]
        assert got["kinds"] == [p.kind for p in picks]
        assert got["basis_product_ids"] == [
            None if p.basis is None else int(products[p.basis]) for p in picks]
        assert got["purchased"] == [p.column in bought for p in picks]
        assert np.allclose(got["scores"], [p.score for p in picks], atol=1e-6)
        kinds.update(got["kinds"])
    assert {"BOUGHT_WITH", "BUY_AGAIN"} <= kinds  # picks with a basis and without one


async def test_customers_gone_while_training_ran_get_no_list_and_fail_nothing(
        org: Organization) -> None:
    kept, erased = await make_customer(org, name="Kept"), await make_customer(org, name="Gone")
    other_org = await Organization.create(name="Elsewhere", slug="elsewhere-lists")
    stranger = await make_customer(other_org, name="Not ours")
    product = await Product.create(organization_id=org.id, sku="SKU-1", name="Kettle",
                                   price=Decimal(10), currency="USD")
    gone_id = erased.id
    await erased.delete()
    picks = recommendations.Picks(
        customer_ids=[kept.id, kept.id, gone_id, stranger.id], product_ids=[product.id] * 4,
        scores=[0.9, 0.5, 0.4, 0.3], kinds=[1, 2, 1, 2], basis_ids=[product.id, -1, -1, -1],
        purchased=[True, False, False, False])
    async with in_transaction() as conn:
        await recommendations.replace(org_id=org.id, lists=recommendations.Lists(
            picks, [], []), using=conn)
    rows = await fetch("SELECT customer_id, scores, kinds, basis_product_ids FROM"
                       " recommendation_list WHERE organization_id = ANY($1::bigint[])",
                       [[org.id, other_org.id]])
    assert [dict(r) for r in rows] == [{
        "customer_id": kept.id, "scores": [0.9, 0.5], "kinds": ["BUY_AGAIN", "POPULAR"],
        "basis_product_ids": [product.id, None]}]
