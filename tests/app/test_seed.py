"""Demo data is realistic enough to pass the API's own validation."""

from __future__ import annotations

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
