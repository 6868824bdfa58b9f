"""Custom predictions end to end over the database: a planted rule is learned and served, an
unlearnable outcome is not, and scores follow batches."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from sklearn.metrics import roc_auc_score

from db import customer_score as scores
from db import prediction_definition as definitions
from db.sql import fetch
from ml import score_job
from tests.factories import make_org
from tests.ml import score_world


async def _define(org_id: int, name: str, outcome: dict[str, object]) -> dict[str, object]:
    return await definitions.create(org_id=org_id, user_id=None, data={
        "name": name, "outcome": outcome, "horizon_days": 30})


async def test_the_builder_learns_a_planted_rule_and_not_noise() -> None:
    org = await make_org()
    world = await score_world.build(org.id)
    refund = await _define(org.id, "refund_risk", {"kind": "ORDER_STATUS", "status": "REFUNDED"})
    noise = await _define(org.id, "cancel_risk", {"kind": "ORDER_STATUS", "status": "CANCELLED"})

    results = await score_job.train_and_score(org_id=org.id, run_id=None, as_of=datetime.now(UTC))

    by_name = {r["prediction"]: r for r in results}
    assert by_name["refund_risk"]["status"] == "ACTIVATED", by_name["refund_risk"]["message"]
    assert by_name["cancel_risk"]["status"] == "NOT_ACTIVATED", by_name["cancel_risk"]
    metrics = by_name["refund_risk"]["metrics"]
    assert metrics["roc_auc"] > 0.8
    assert metrics["brier"] < metrics["baseline"]["brier"]
    # the registry records both trainings and the comparison with the base rate
    models = await fetch("SELECT definition_id, active, activated, metrics FROM prediction_model"
                         " WHERE organization_id = $1 AND kind = 'SCORE'", [org.id])
    assert {(m["definition_id"], m["active"]) for m in models} == {
        (refund["id"], True), (noise["id"], False)}
    assert all("baseline" in m["metrics"] and "won_by" in m["metrics"] for m in models)

    served = await scores.for_customers(org_id=org.id, customer_ids=world.ids)
    assert set(served) == set(world.ids)  # everyone scored, by the activated prediction only
    assert {row["name"] for rows in served.values() for row in rows} == {"refund_risk"}
    p = np.array([served[i][0]["probability"] for i in world.ids])
    assert roc_auc_score(world.rule, p) > 0.85  # the rule is what the score found
    reasons = served[world.ids[int(np.argmax(p))]][0]["reasons"]
    assert reasons
    assert all("refunded within 30 days" in r["text"] for r in reasons)
    assert all(r["about"] == "refund_risk" for r in reasons)

    rows = {d["name"]: d for d in await definitions.list_(org_id=org.id)}
    assert rows["refund_risk"]["status"] == "ACTIVATED"
    assert rows["cancel_risk"]["status"] == "NOT_ACTIVATED"


async def test_scoring_in_small_batches_matches_one_pass(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    org = await make_org()
    world = await score_world.build(org.id, n=600, seed=3)
    await _define(org.id, "refund_risk", {"kind": "ORDER_STATUS", "status": "REFUNDED"})
    now = datetime.now(UTC)
    served, _ = await score_job.train(org_id=org.id, run_id=None, as_of=now)
    assert served
    await score_job.score_customers(served, org_id=org.id, as_of=now)
    whole = await scores.for_customers(org_id=org.id, customer_ids=world.ids)
    monkeypatch.setattr(score_job, "SCORE_BATCH", 97)
    await score_job.score_customers(served, org_id=org.id, as_of=now)
    batched = await scores.for_customers(org_id=org.id, customer_ids=world.ids)
    assert {i: r[0]["probability"] for i, r in whole.items()} == \
        {i: r[0]["probability"] for i, r in batched.items()}


async def test_an_outcome_without_history_is_not_enough_data() -> None:
    org = await make_org()
    await score_world.build(org.id, n=300, seed=5)
    await _define(org.id, "vip_soon", {"kind": "TAG_ADDED", "tag": "vip"})
    results = await score_job.train_and_score(org_id=org.id, run_id=None, as_of=datetime.now(UTC))
    assert [r["status"] for r in results] == ["NOT_ENOUGH_DATA"]
    assert (await definitions.list_(org_id=org.id))[0]["message"].startswith("not enough data")
