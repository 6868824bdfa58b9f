"""RFM summaries: repeat orders, their timing from the first, and repeat spend only."""

from __future__ import annotations

import numpy as np
import pytest

from ml.features import Events, History, empty_events
from ml.rfm import first_order_spend, rfm_at


def test_summaries_count_repeats_from_the_first_order_before_the_cutoff() -> None:
    history = History(
        customer_ids=np.array([1, 2, 3], np.int64), created_day=np.zeros(3),
        orders=Events(customer=np.array([0, 0, 0, 1, 0], np.int64),
                      day=np.array([30.0, 10.0, 20.0, 40.0, 200.0]),
                      amount=np.array([50.0, 10.0, np.nan, 7.0, 99.0])),
        interactions=empty_events(),
    )
    rfm = rfm_at(history, 100.0, np.arange(3))
    assert rfm.bought.tolist() == [True, True, False]
    assert rfm.x.tolist() == [2.0, 0.0, 0.0]
    assert rfm.t_x.tolist() == [20.0, 0.0, 0.0]
    assert rfm.T.tolist() == [90.0, 60.0, 0.0]
    # the first order (10) is left out; the unpriced repeat counts as a purchase only
    assert rfm.spend[0] == 50.0
    assert rfm.priced.tolist() == [1.0, 0.0, 0.0]
    assert np.isnan(rfm.spend[1])
    first = first_order_spend(history, 100.0, np.arange(3))
    assert first[:2].tolist() == [10.0, 7.0]
    assert np.isnan(first[2])
    assert rfm.first_value is not None
    assert rfm.first_value[:2].tolist() == [10.0, 7.0]
    assert np.isnan(rfm.first_value[2])
    assert rfm_at(history, 15.0, np.arange(1)).x[0] == pytest.approx(0.0)
