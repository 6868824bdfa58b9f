"""The buy-till-you-die model's outputs as features of the supervised models.

At every cutoff a BG/NBD is fitted on what was known then, and each customer's expected orders
over the horizon and P(alive) join their feature row; the served supervised model keeps the
parameters fitted at its as-of date, so scoring (whole organizations or a few changed
customers) computes the same columns without refitting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml import btyd
from ml.features import FeatureTable, Floats, History, Ints
from ml.rfm import Rfm, rfm_at

NAMES = ("btyd_expected_orders", "btyd_p_alive")
MAX_FIT_BUYERS = 20_000  # features need the parameters roughly; a fixed sample keeps fits cheap


@dataclass(frozen=True)
class BtydFeatures:
    """BG/NBD parameters (None: too few repeat buyers) and the horizon of the expectation."""

    params: btyd.BgNbd | None
    horizon: float

    def columns(self, history: History, cutoff: float, rows: Ints,
                rfm: Rfm | None = None) -> dict[str, Floats]:
        """Expected orders and P(alive) of ``rows`` as of ``cutoff`` (0 and 1 without a fit);
        ``rfm``: their summaries when the caller has them already."""
        if self.params is None:
            return {NAMES[0]: np.zeros(len(rows)), NAMES[1]: np.ones(len(rows))}
        rfm = rfm if rfm is not None else rfm_at(history, cutoff, rows)
        expected = btyd.expected_purchases(self.params, rfm.x, rfm.t_x, rfm.T, self.horizon)
        alive = btyd.p_alive(self.params, rfm.x, rfm.t_x, rfm.T)
        return {NAMES[0]: np.where(rfm.bought, expected, 0.0),
                NAMES[1]: np.where(rfm.bought, alive, 1.0)}

    def extend(self, history: History, table: FeatureTable,
               rfm: Rfm | None = None) -> FeatureTable:
        """The table with the two columns appended (``rfm``: the table's rows' summaries)."""
        extra = self.columns(history, table.cutoff, table.index, rfm)
        values = np.column_stack([table.values, *(extra[name] for name in NAMES)])
        return FeatureTable(table.cutoff, table.index, (*table.names, *NAMES), values)


def fitted_at(history: History, cutoff: float, horizon: float, rows: Ints) -> BtydFeatures:
    """A BG/NBD fitted on ``rows``' orders before ``cutoff``."""
    return fitted_on(rfm_at(history, cutoff, rows), horizon)


def fitted_on(rfm: Rfm, horizon: float) -> BtydFeatures:
    """A BG/NBD fitted on the customers summarised in ``rfm``."""
    buyers = np.flatnonzero(rfm.bought)
    if len(buyers) > MAX_FIT_BUYERS:
        buyers = np.sort(np.random.default_rng(0).choice(buyers, MAX_FIT_BUYERS, replace=False))
    try:
        params: btyd.BgNbd | None = btyd.fit(
            rfm.x[buyers], rfm.t_x[buyers], rfm.T[buyers],
            penalty=1e-3 if len(buyers) < 500 else 0.0,
        )
    except btyd.CannotFit:
        params = None
    return BtydFeatures(params, horizon)
