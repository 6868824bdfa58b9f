"""Customer custom fields feed the prediction builder: a rule planted on a field is learned,
and the reasons name the field by its label."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
from sklearn.metrics import roc_auc_score

from db import custom_field as custom_fields
from db import customer_score as scores
from db import prediction_definition as definitions
from db.sql import fetch
from ml import custom_field_history, score_job
from ml.features import to_day
from tests.factories import make_org

DAYS = 400


async def _fields(org_id: int) -> None:
    for data in (
        {"key": "plan", "label": "Plan", "field_type": "SINGLE_SELECT",
         "options": ["monthly", "annual", "lifetime"]},
        {"key": "seats", "label": "Seats", "field_type": "NUMBER"},
        {"key": "renewal_date", "label": "Renewal date", "field_type": "DATE"},
        {"key": "newsletter", "label": "Newsletter subscriber", "field_type": "BOOLEAN"},
        {"key": "notes", "label": "Notes", "field_type": "TEXT"},
    ):
        await custom_fields.create(org_id=org_id, object_type=custom_fields.ObjectType.CUSTOMER,
                                   data=data)


async def _world(org_id: int, n: int = 1200, seed: int = 3) -> tuple[list[int], np.ndarray]:
    """Customers whose plan is "monthly" get orders refunded every 20 days, the others every
    400; everything else (seats, renewal date, newsletter, purchases) is the same for all."""
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    start = now - timedelta(days=DAYS)
    plan = rng.choice(["monthly", "annual", "lifetime"], n, p=[0.35, 0.45, 0.2])
    values = [{"plan": str(p), "seats": int(rng.integers(1, 50)),
               "renewal_date": (now + timedelta(days=int(rng.integers(-100, 300)))).date()
               .isoformat(), "newsletter": bool(rng.random() < 0.5), "notes": "x"}
              for p in plan]
    rows = await fetch(
        "INSERT INTO customer (organization_id, kind, name, stage, tags, custom_fields,"
        " email_opt_out, created_at, updated_at)"
        " SELECT $1, 'PERSON', 'Field ' || k, 'CUSTOMER', '{}', f::jsonb, false, $3, $3"
        " FROM unnest($2::text[]) WITH ORDINALITY AS u(f, k) ORDER BY k RETURNING id",
        [org_id, [orjson.dumps(v).decode() for v in values], start],
    )
    ids = np.array([r["id"] for r in rows], dtype=np.int64)
    rule = plan == "monthly"
    for status, rates in (("PAID", np.full(n, 1 / 30)),
                          ("REFUNDED", np.where(rule, 1 / 20, 1 / 400))):
        counts = rng.poisson(rates * DAYS)
        who = np.repeat(np.arange(n), counts)
        await fetch(
            "INSERT INTO customer_order (organization_id, customer_id, amount, currency, status,"
            " placed_at, line_items, created_at, updated_at)"
            " SELECT $1, c, 40, 'EUR', $4, $5::timestamptz + make_interval(secs => d * 86400),"
            " '[]', now(), now() FROM unnest($2::bigint[], $3::float8[]) AS u(c, d)",
            [org_id, ids[who].tolist(), rng.uniform(0, DAYS, len(who)).tolist(), status, start],
        )
    return [int(i) for i in ids], rule


async def test_values_are_read_as_of_a_date_by_the_fields_that_feed_models() -> None:
    org = await make_org()
    await _fields(org.id)
    ids, _ = await _world(org.id, n=30)
    now = datetime.now(UTC)
    await fetch("UPDATE customer SET custom_fields = custom_fields || '{\"plan\": \"annual\"}'"
                " WHERE id = $1", [ids[0]])

    values = await custom_field_history.load(org_id=org.id, as_of=now, ids=np.asarray(ids))
    assert values is not None
    # TEXT is not a feature; the select's options are the ones customers have, most first
    assert [s.key for s in values.specs] == ["plan", "seats", "renewal_date", "newsletter"]
    assert set(values.specs[0].options) <= {"monthly", "annual", "lifetime"}
    later = await custom_field_history.load(org_id=org.id, as_of=now + timedelta(seconds=5),
                                            ids=np.asarray(ids), customer_ids=[ids[0]])
    assert later is not None
    # the values come in no particular order (an aggregate without ORDER BY): by their day
    plan = [v for _, v in sorted((d, v) for f, d, v in zip(
        later.field, later.day, later.value, strict=True) if f == 0)]
    assert plan[-1] == "annual" and len(plan) == 2  # noqa: PT018 (the change is history)
    assert set(later.customer.tolist()) == {0}
    before = await custom_field_history.load(org_id=org.id, as_of=now - timedelta(days=DAYS + 1),
                                             ids=np.asarray(ids))
    assert before is not None and len(before.day) == 0  # noqa: PT018
    assert to_day(now) > float(values.day.max())


async def test_the_builder_learns_a_rule_planted_on_a_custom_field() -> None:
    org = await make_org()
    await _fields(org.id)
    ids, rule = await _world(org.id)
    await definitions.create(org_id=org.id, user_id=None, data={
        "name": "refund_risk", "outcome": {"kind": "ORDER_STATUS", "status": "REFUNDED"},
        "horizon_days": 30})

    results = await score_job.train_and_score(org_id=org.id, run_id=None, as_of=datetime.now(UTC))

    (result,) = results
    assert result["status"] == "ACTIVATED", result["message"]
    assert result["metrics"]["roc_auc"] > 0.8
    served = await scores.for_customers(org_id=org.id, customer_ids=ids)
    p = np.array([served[i][0]["probability"] for i in ids])
    assert roc_auc_score(rule, p) > 0.85
    model = await fetch("SELECT metrics FROM prediction_model WHERE organization_id = $1"
                        " AND kind = 'SCORE' AND active", [org.id])
    importances = model[0]["metrics"]["importances"]
    assert max(importances, key=importances.get) == "field:plan=monthly"  # ranks first
    top = served[ids[int(np.argmax(p))]][0]["reasons"]
    assert top[0]["feature"] == "field:plan=monthly"
    assert top[0]["text"].startswith('Plan is "monthly", which raises the chance')
    monthly = [r for i, yes in zip(ids, rule, strict=True) if yes
               for r in served[i][0]["reasons"] if r["feature"] == "field:plan=monthly"]
    assert len(monthly) > 0.9 * rule.sum()  # nearly every monthly customer hears why
