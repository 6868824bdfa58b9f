"""The CDNOW purchase data (Fader, Hardie & Lee 2005) as shipped by the ``lifetimes`` package.

Only tests and benchmarks read it, from the installed package's data files (the package itself
is never imported); without it they skip. Days count from 1997-01-01.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from ml.features import Floats, Ints

START = date(1997, 1, 1)


def data_dir() -> Path | None:
    """Where the ``lifetimes`` package keeps its data sets (None when it is not installed)."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets"
    return folder if folder.is_dir() else None


def summary_sample(folder: Path) -> tuple[Floats, Floats, Floats, Floats]:
    """The 2,357-customer sample's 39-week calibration summaries in weeks: x, t_x, T and the
    average value of the repeat purchases (0 without one)."""
    table = np.genfromtxt(
        folder / "cdnow_customers_summary_with_transactions.csv", delimiter=",", skip_header=1
    )
    return table[:, 1], table[:, 2], table[:, 3], table[:, 4]


@dataclass(frozen=True)
class Transactions:
    """One purchase per customer-day: customer index, day since 1997-01-01, money."""

    customer: Ints
    day: Floats
    amount: Floats

    @property
    def customers(self) -> int:
        """How many customers."""
        return int(self.customer.max()) + 1


def master(folder: Path) -> Transactions:
    """The full 23,570-customer cohort, purchases on the same day merged (as in the papers)."""
    raw = np.loadtxt(folder / "CDNOW_master.txt", skiprows=1)
    customer = raw[:, 0].astype(np.int64) - 1
    stamps = raw[:, 1].astype(np.int64)
    ordinals = {
        int(v): date(int(v) // 10000, int(v) // 100 % 100, int(v) % 100).toordinal()
        for v in np.unique(stamps)
    }
    day = np.array([ordinals[int(v)] for v in stamps], np.int64) - START.toordinal()
    key = customer * 1000 + day
    unique, inverse = np.unique(key, return_inverse=True)
    amount = np.bincount(inverse, weights=raw[:, 3])
    return Transactions(
        customer=(unique // 1000).astype(np.int64), day=(unique % 1000).astype(np.float64),
        amount=amount,
    )
