"""How far BG/NBD itself is from the orders that happened, on its own reference data.

    .venv/bin/python -m bench.btyd_published

The CDNOW sample of Fader, Hardie & Lee (2005): 2,357 customers, one purchase per
customer-day, calibration to the end of week 39. Prints the repeat purchases BG/NBD expects
in weeks 40-52 and 40-78, with the published parameters and with ours fitted on the same
data, against what happened; then the same for the full 23,570-customer cohort. Needs the
``lifetimes`` package's data files (the ``cdnow`` extra); the package is never imported.
"""

from __future__ import annotations

import argparse
from datetime import date

import numpy as np

from ml import btyd
from tests.ml import cdnow

CALIBRATION_DAYS = 273.0  # the end of week 39
PUBLISHED = btyd.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)  # weeks


def _summaries(customer: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, ...]:
    """x, t_x and T in weeks for the customers who bought in the calibration period, and the
    rows of the purchases that came after it."""
    n = int(customer.max()) + 1
    first = np.full(n, np.inf)
    np.minimum.at(first, customer, day)
    inside = day < CALIBRATION_DAYS
    last = np.full(n, -np.inf)
    np.maximum.at(last, customer[inside], day[inside])
    count = np.bincount(customer[inside], minlength=n)
    known = np.isfinite(first) & (first < CALIBRATION_DAYS)
    return ((count - 1)[known].astype(float), ((last - first)[known]) / 7,
            ((CALIBRATION_DAYS - first)[known]) / 7, day[~inside])


def _report(label: str, customer: np.ndarray, day: np.ndarray, published: bool) -> None:
    x, t_x, T, later = _summaries(customer, day)
    fitted = btyd.fit(x, t_x, T)
    print(f"{label}: {len(x):,} customers, {x.sum():,.0f} repeat purchases in weeks 1-39;"
          f" fitted r {fitted.r:.3f} alpha {fitted.alpha:.3f} a {fitted.a:.3f} b {fitted.b:.3f}")
    for weeks in (13, 39):
        actual = int((later < CALIBRATION_DAYS + 7 * weeks).sum())
        shown = [("fitted", fitted)] + ([("published", PUBLISHED)] if published else [])
        for name, params in shown:
            expected = float(btyd.expected_purchases(params, x, t_x, T, weeks).sum())
            print(f"  weeks 40-{39 + weeks}: BG/NBD ({name}) expects {expected:,.0f},"
                  f" {actual:,} happened ({100 * (expected / actual - 1):+.1f} %)")


def main() -> None:
    """Print the table described above."""
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    folder = cdnow.data_dir()
    if folder is None:
        raise SystemExit("the lifetimes package's data files are needed: pip install -e '.[cdnow]'")
    raw = np.loadtxt(folder / "CDNOW_sample.txt")
    start = date(1997, 1, 1).toordinal()
    days = np.array([date(int(v) // 10000, int(v) // 100 % 100, int(v) % 100).toordinal()
                     for v in raw[:, 2]]) - start
    unique = np.unique(raw[:, 1].astype(np.int64) * 1000 + days)  # one per customer-day
    _report("paper's sample", unique // 1000, (unique % 1000).astype(float), published=True)
    cohort = cdnow.master(folder)
    _report("full cohort", cohort.customer, cohort.day, published=False)


if __name__ == "__main__":
    main()
