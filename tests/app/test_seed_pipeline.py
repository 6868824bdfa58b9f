"""The demo has companies with people, deals across the default pipeline, and tasks."""

from __future__ import annotations

from app.seed import SeedPlan, seed
from db.sales_models import Company, CompanyMembership, Deal, DealStageChange, Task
from db.sql import fetch
from tests.factories import make_org, make_user


async def test_demo_companies_deals_and_tasks(db: str) -> None:
    org = await make_org()
    owner = await make_user(org)
    await seed(db, org.id, SeedPlan(customers=80, seed=11), [owner.id])
    assert await Company.filter(organization_id=org.id).count() > 3
    assert await CompanyMembership.filter(organization_id=org.id).count() > 3
    deals = await Deal.filter(organization_id=org.id)
    assert len({d.stage_id for d in deals}) > 1
    assert {d.status.value for d in deals} >= {"OPEN"}
    assert await Task.filter(organization_id=org.id).count() > 0
    # every deal's history ends in the stage it is in
    rows = await fetch(
        "SELECT d.id FROM deal d WHERE d.organization_id = $1 AND d.stage_id <> ("
        " SELECT h.to_stage_id FROM deal_stage_change h WHERE h.deal_id = d.id"
        " ORDER BY h.changed_at DESC, h.id DESC LIMIT 1)", [org.id],
    )
    assert rows == []
    assert await DealStageChange.filter(organization_id=org.id).count() >= len(deals)
