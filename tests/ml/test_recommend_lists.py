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
