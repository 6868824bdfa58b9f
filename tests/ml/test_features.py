"""Features as of a cutoff: only earlier events count, money only in the org's currency."""

from __future__ import annotations

import numpy as np
import pytest

from ml.features import Events, History, empty_events, features_at, to_day


def history(orders: list[tuple[int, float, float]], interactions=(), emails=None) -> History:
    """Two customers created on day 0; orders as (customer, day, amount or NaN)."""
    inter = list(interactions)
    return History(
        customer_ids=np.array([10, 20]), created_day=np.array([0.0, 50.0]),
        orders=Events(
            customer=np.array([o[0] for o in orders], np.int64),
            day=np.array([o[1] for o in orders], float), amount=np.array([o[2] for o in orders]),
        ),
        interactions=Events(
            customer=np.array([x[0] for x in inter], np.int64), day=np.array([x[1] for x in inter]),
            kind=np.array([x[2] for x in inter], np.int64),
            inbound=np.array([x[3] for x in inter], bool),
        ) if inter else empty_events(),
        emails=emails,
    )


def row(table, customer_index: int) -> dict[str, float]:
    i = list(table.index).index(customer_index)
    return dict(zip(table.names, table.values[i], strict=True))


def test_rfm_values_at_a_cutoff() -> None:
    h = history([(0, 10.0, 100.0), (0, 70.0, 50.0), (0, 90.0, np.nan)],
                [(0, 95.0, 1, True), (0, 20.0, 0, False)])
    f = row(features_at(h, 100.0), 0)
    assert f["recency_days"] == pytest.approx(10.0)
    assert f["orders_total"] == 3  # the order in another currency is still a purchase
    assert f["revenue_total"] == pytest.approx(150.0)  # ... but carries no money
    assert f["avg_order_value"] == pytest.approx(75.0)
    assert f["orders_30d"] == 2  # days 70 and 90 (windows are [cutoff - 30, cutoff))
    assert f["orders_90d"] == 3
    assert f["mean_gap_days"] == pytest.approx(40.0)
    assert f["tenure_days"] == pytest.approx(100.0)
    assert f["interactions_30d"] == 1
    assert f["phone_90d"] == 1
    assert f["email_90d"] == 1
    assert f["inbound_90d"] == 1
    assert f["days_since_inbound"] == pytest.approx(5.0)


def test_a_planted_future_order_is_ignored() -> None:
    past = history([(0, 10.0, 100.0), (1, 60.0, 30.0)], [(1, 80.0, 2, True)])
    planted = history([(0, 10.0, 100.0), (1, 60.0, 30.0), (0, 100.0, 999.0), (1, 150.0, 5.0)],
                      [(1, 80.0, 2, True), (0, 100.0, 3, True), (1, 120.0, 1, False)])
    before, after = features_at(past, 100.0), features_at(planted, 100.0)
    assert before.names == after.names
    np.testing.assert_array_equal(before.values, after.values)


def test_customers_created_after_the_cutoff_are_left_out() -> None:
    table = features_at(history([]), 40.0)
    assert table.index.tolist() == [0]
    assert row(table, 0)["has_ordered"] == 0
    assert row(table, 0)["recency_days"] == pytest.approx(40.0)  # no order: since creation


def test_email_outcomes_hook_adds_features_only_when_given() -> None:
    assert not any(n.startswith("email_") for n in features_at(history([]), 100.0).names
                   if n != "email_90d")
    emails = Events(customer=np.array([0, 0]), day=np.array([90.0, 95.0]),
                    kind=np.array([0, 1], np.int64))
    f = row(features_at(history([], emails=emails), 100.0), 0)
    assert f["email_delivered_90d"] == 1
    assert f["email_opened_90d"] == 1
    assert f["days_since_email_open"] == pytest.approx(5.0)


def test_time_axis_is_days_since_epoch() -> None:
    from datetime import UTC, datetime

    assert to_day(datetime(1970, 1, 11, tzinfo=UTC)) == pytest.approx(10.0)
