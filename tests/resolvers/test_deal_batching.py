"""A page of deals with company, people and stage history costs a constant number of statements."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from db.sales_models import Company, Deal, DealPerson, DealStageChange, PipelineStage
from tests.factories import make_customer, make_user
from tests.statements import count_statements

NESTED = """
query($first: Int!) {
  deals(first: $first) {
    totalCount
    nodes {
      id name amount { amount currency } probability weightedAmount { amount } customFields
      stage { name } pipeline { name } owner { name }
      company { name domain owner { name } }
      people { name email }
      stageHistory { fromStage toStage changedAt changedBy { name } }
    }
  }
}"""


async def _populate(org, count: int) -> None:  # type: ignore[no-untyped-def]
    owner = await make_user(org)
    stages = await PipelineStage.filter(organization_id=org.id).order_by("position")
    companies = [await Company.create(organization_id=org.id, name=f"Co {n}", owner=owner)
                 for n in range(5)]
    people = [await make_customer(org) for _ in range(10)]
    now = datetime.now(UTC)
    for n in range(count):
        stage = stages[n % len(stages)]
        deal = await Deal.create(
            organization_id=org.id, name=f"Deal {n}", amount=Decimal(100 + n), currency="EUR",
            pipeline_id=stage.pipeline_id, stage=stage, owner=owner,
            company=companies[n % 5], stage_entered_at=now,
        )
        await DealPerson.bulk_create([
            DealPerson(organization_id=org.id, deal=deal, customer=people[(n + k) % 10])
            for k in range(2)
        ])
        await DealStageChange.bulk_create([
            DealStageChange(organization_id=org.id, deal=deal, to_stage=stages[0],
                            to_stage_name=stages[0].name, changed_by=owner, changed_at=now),
            DealStageChange(organization_id=org.id, deal=deal, from_stage=stages[0],
                            from_stage_name=stages[0].name, to_stage=stage,
                            to_stage_name=stage.name, changed_by=owner, changed_at=now),
        ])


async def test_statement_count_is_independent_of_page_size(api, org) -> None:
    await _populate(org, 50)
    with count_statements() as small:
        few = await api.data(NESTED, first=5)
    with count_statements() as large:
        many = await api.data(NESTED, first=50)
    assert len(few["deals"]["nodes"]) == 5
    assert len(many["deals"]["nodes"]) == 50
    node = many["deals"]["nodes"][0]
    assert node["company"]["owner"] is not None
    assert len(node["people"]) == 2
    assert len(node["stageHistory"]) == 2
    assert len(large) == len(small), large
