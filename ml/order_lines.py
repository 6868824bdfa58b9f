"""Paid order lines as arrays: the recommender's history (no heavy imports: the server loads it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Lines:
    """Paid order lines: customer id, product id and day (days since the epoch) per line."""

    customer: np.ndarray  # int64
    product: np.ndarray  # int64
    day: np.ndarray  # float64
    quantity: np.ndarray  # float64

    def before(self, day: float) -> Lines:
        keep = self.day < day
        return Lines(self.customer[keep], self.product[keep], self.day[keep],
                     self.quantity[keep])

    def between(self, start: float, end: float) -> Lines:
        keep = (self.day >= start) & (self.day < end)
        return Lines(self.customer[keep], self.product[keep], self.day[keep],
                     self.quantity[keep])
