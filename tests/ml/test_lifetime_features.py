"""BG/NBD outputs as supervised features: fitted per cutoff, reused unchanged when scoring."""

from __future__ import annotations

import numpy as np

from ml.features import existing_at, features_at
from ml.labels import examples_at
from ml.lifetime_features import NAMES, fitted_at
from tests.ml.simulate_btyd import simulated


def test_examples_carry_the_expectation_and_p_alive_of_their_cutoff() -> None:
    history = simulated(600, end=400.0, joining=30.0, seed=3)
    examples = examples_at(history, (200.0, 300.0), 60.0)
    assert examples.names[-2:] == NAMES
    expected = examples.X[:, examples.names.index("btyd_expected_orders")]
    alive = examples.X[:, examples.names.index("btyd_p_alive")]
    assert (expected >= 0).all()
    assert ((alive > 0) & (alive <= 1)).all()
    # more expected orders, more actual orders: the feature carries signal
    assert np.corrcoef(expected, examples.orders)[0, 1] > 0.3


def test_scoring_a_few_customers_uses_the_stored_fit_and_matches_the_whole() -> None:
    history = simulated(600, end=400.0, joining=30.0, seed=4)
    btyd = fitted_at(history, 300.0, 90.0, existing_at(history, 300.0))
    assert btyd.params is not None
    whole = btyd.extend(history, features_at(history, 300.0))
    few = btyd.extend(history, features_at(history, 300.0, np.array([5, 17], np.int64)))
    assert np.array_equal(few.values[:, -2:], whole.values[[5, 17], -2:])
