"""Custom field values as features as of a cutoff, in words, and learned by the churn model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ml.custom_fields import FieldSpec, FieldValues, columns_at, describe, names
from ml.features import features_at
from ml.scoring import ActiveModels, score
from ml.training import ACTIVATED, train_all
from tests.ml.simulate import simulate

END = 20_000.0
SPECS = (
    FieldSpec("plan", "Plan", "SINGLE_SELECT", ("monthly", "annual")),
    FieldSpec("seats", "Seats", "NUMBER"),
    FieldSpec("renewal_date", "Renewal date", "DATE"),
    FieldSpec("newsletter", "Newsletter subscriber", "BOOLEAN"),
    FieldSpec("budget", "Budget", "MONEY", currency="EUR"),
)


def _values(*events: tuple[int, float, int, str]) -> FieldValues:
    customer, day, field, value = zip(*events, strict=True)
    return FieldValues(SPECS, np.asarray(customer, np.int64), np.asarray(day, np.float64),
                       np.asarray(field, np.int64), np.asarray(value, dtype=object))


def test_each_type_becomes_columns_from_the_value_held_at_the_cutoff() -> None:
    values = _values(
        (0, 10.0, 0, "monthly"), (0, 20.0, 0, "annual"), (1, 10.0, 0, "lifetime"),
        (0, 10.0, 1, "12"), (1, 10.0, 1, "not a number"),
        (0, 10.0, 2, "1970-01-31"), (1, 10.0, 2, "1970-03-02"),
        (0, 10.0, 3, "true"), (1, 10.0, 3, "false"), (0, 10.0, 4, "99.5"),
    )
    rows = np.array([0, 1, 2])
    at15 = columns_at(values, 15.0, rows, 3)
    assert tuple(at15) == names(SPECS)
    assert at15["field:plan=monthly"].tolist() == [1.0, 0.0, 0.0]  # the annual came later
    assert at15["field:plan=annual"].tolist() == [0.0, 0.0, 0.0]  # lifetime: no column
    at25 = columns_at(values, 25.0, rows, 3)
    assert at25["field:plan=monthly"].tolist() == [0.0, 0.0, 0.0]
    assert at25["field:plan=annual"].tolist() == [1.0, 0.0, 0.0]
    assert np.allclose(at15["field:seats"], [12.0, np.nan, np.nan], equal_nan=True)
    assert np.allclose(at15["field:renewal_date"], [15.0 - 30, 15.0 - 60, np.nan],
                       equal_nan=True)  # age in days: negative while it is still to come
    assert np.allclose(at15["field:newsletter"], [1.0, 0.0, np.nan], equal_nan=True)
    assert np.allclose(at15["field:budget"], [99.5, np.nan, np.nan], equal_nan=True)
    before = columns_at(values, 5.0, rows, 3)
    assert all(np.isnan(before[n]).all() for n in ("field:seats", "field:newsletter"))
    assert columns_at(None, 15.0, rows, 3) == {}


def test_values_are_said_with_the_field_label() -> None:
    assert describe(SPECS, "field:plan=monthly", 1.0) == 'Plan is "monthly"'
    assert describe(SPECS, "field:plan=monthly", 0.0) == 'Plan is not "monthly"'
    assert describe(SPECS, "field:seats", 12.0) == "Seats: 12"
    assert describe(SPECS, "field:seats", float("nan")) == "Seats not filled in"
    assert describe(SPECS, "field:renewal_date", -40.0) == "Renewal date in 40 days"
    assert describe(SPECS, "field:renewal_date", 3.0) == "Renewal date 3 days ago"
    assert describe(SPECS, "field:newsletter", 1.0) == "Newsletter subscriber: yes"
    assert describe(SPECS, "field:budget", 1234.5) == "Budget: 1,234.50 EUR"
    assert describe(SPECS, "recency_days", 3.0) is None


def test_the_churn_model_learns_a_warning_sign_kept_in_a_custom_field() -> None:
    sim = simulate(600, end_day=END, seed=5)
    history = sim.history
    n = history.size
    # everyone starts with "no"; a month before they stop buying, a customer is marked "yes"
    warned = np.flatnonzero(sim.stop_day - 30 < END)
    spec = FieldSpec("paused", "Asked to pause", "BOOLEAN")
    custom = FieldValues(
        (spec,), np.concatenate([np.arange(n), warned]).astype(np.int64),
        np.concatenate([history.created_day, np.maximum(sim.stop_day[warned] - 30,
                                                        history.created_day[warned])]),
        np.zeros(n + len(warned), np.int64),
        np.asarray(["false"] * n + ["true"] * len(warned), dtype=object),
    )
    history = replace(history, custom=custom)
    assert "field:paused" in features_at(history, END).names

    churn = train_all(history, END, 90.0)["CHURN"]

    assert churn.status == ACTIVATED
    assert "field:paused" in churn.features
    importances = churn.metrics["importances"]
    assert "field:paused" in sorted(importances, key=lambda k: -importances[k])[:3]
    scores = score(history, END, ActiveModels(churn=churn.artifact,
                                              churn_importances=importances))
    assert scores.reasons is not None
    texts = [r.text for row in scores.reasons for r in row if r.feature == "field:paused"]
    assert texts  # against the typical customer's value, whichever that is
    assert all(t in ("Asked to pause: yes, which raises the churn risk",
                     "Asked to pause: no, which lowers the churn risk") for t in texts), texts
