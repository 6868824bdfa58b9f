"""Demo data is realistic enough to pass the API's own validation."""

from __future__ import annotations

from decimal import Decimal

from app.seed import SeedPlan, seed
from db import validation
from db.models import Customer, Interaction, Order
from tests.factories import make_org, make_user


async def test_seeded_customers_are_valid_and_have_history(db: str) -> None:
    org = await make_org()
    owner = await make_user(org)
    done: list[int] = []
    await seed(db, org.id, SeedPlan(customers=60, seed=7), [owner.id], done.append)
    assert sum(done) == 60
    customers = await Customer.filter(organization=org)
    assert len(customers) == 60
    for customer in customers:
        cleaner = validation.Cleaner()
        for field in ("name", "street", "city", "company"):
            assert cleaner.text(field, getattr(customer, field), 200) == getattr(customer, field)
        assert not cleaner.errors, (customer.name, cleaner.errors)
        assert validation.email(customer.email) == customer.email
        if customer.phone:
            assert validation.phone(customer.phone) == customer.phone
        assert customer.owner_id == owner.id
    assert await Order.filter(organization_id=org.id).count() > 60
    assert await Interaction.filter(organization_id=org.id).count() > 300


async def test_demo_behaviour_is_worth_predicting(db: str) -> None:
    """Stages follow behaviour, and a churn model trained on the demo beats its baseline."""
    from datetime import UTC, datetime

    from ml.features import to_day
    from ml.history import load_history
    from ml.training import ACTIVATED, train_all

    org = await make_org()
    owner = await make_user(org)
    await seed(db, org.id, SeedPlan(customers=800, seed=3), [owner.id])
    now = datetime.now(UTC)
    customers = {c.id: c for c in await Customer.filter(organization=org)}
    last_order: dict[int, datetime] = {}
    for order in await Order.filter(organization_id=org.id):
        previous = last_order.get(order.customer_id)  # type: ignore[attr-defined]
        if previous is None or order.placed_at > previous:
            last_order[order.customer_id] = order.placed_at  # type: ignore[attr-defined]
    stages = [c.stage.value for c in customers.values()]
    for stage in ("LEAD", "CUSTOMER", "CHURNED"):
        assert 0.05 < stages.count(stage) / len(stages) < 0.8, (stage, stages.count(stage))
    for customer in customers.values():
        if customer.stage.value == "CHURNED":  # the sales team saw them go quiet
            assert (now - last_order[customer.id]).days > 270
        if customer.stage.value in ("LEAD", "PROSPECT"):
            assert customer.id not in last_order
    history = await load_history(org_id=org.id, as_of=now)
    outcomes = train_all(history, to_day(now), 90.0)
    churn = outcomes["CHURN"]
    assert churn.status == ACTIVATED, churn.metrics
    assert churn.metrics["roc_auc"] > churn.metrics["baseline"]["roc_auc"] + 0.03


async def test_demo_orders_buy_from_the_catalogue_with_planted_tastes(db: str) -> None:
    from collections import Counter

    from db.product_models import Product

    org = await make_org()
    await seed(db, org.id, SeedPlan(customers=200, seed=9), [(await make_user(org)).id])
    catalogue = {p.sku: p for p in await Product.filter(organization_id=org.id)}
    assert len(catalogue) >= 30
    departments: dict[int, Counter[str]] = {}
    for order in await Order.filter(organization_id=org.id):
        assert order.line_items, order.id
        total = sum(Decimal(i["unit_price"]) * i["quantity"] for i in order.line_items)
        assert order.amount == total
        for item in order.line_items:
            product = catalogue[item["sku"]]  # every line names a catalogue product
            assert product.category is not None
            departments.setdefault(order.customer_id, Counter())[  # type: ignore[attr-defined]
                product.category.split("/")[0]] += 1
    leaning = [c.most_common(1)[0][1] / sum(c.values()) for c in departments.values()
               if sum(c.values()) >= 4]
    assert sum(leaning) / len(leaning) > 0.6  # customers keep to their departments
