"""Held-out check of the served purchase model against BG/NBD, CDNOW-style.

One order per customer-day; calibration from day 0 (1 January) to the end of September
(273 days); each customer's orders over the following 90 and 273 days are predicted by the
model the CRM would serve (``ml.lifetime_validation``: chosen by time-split validation inside
the calibration period) and by a BG/NBD fitted on the same calibration period, then compared
with what happened: per-customer MAE and RMSE, and the total.

Data: the CDNOW cohort (23,570 customers, Fader, Hardie & Lee 2005) from the ``lifetimes``
package's data files when installed (``pip install -e '.[cdnow]'``), and a simulated
population (``--simulated N``): BG/NBD buyers with r=0.25, alpha=33 days, a=0.75, b=2.2
(CDNOW's day-scale estimates) joining over the first 90 days, every customer also
interacting with sales while active (see ``simulated``).

    .venv/bin/python -m bench.btyd_bench [--data cdnow|simulated|both] [--simulated 20000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ml import btyd
from ml.features import Events, Floats, History, window_totals
from ml.lifetime_validation import errors, validate
from ml.rfm import rfm_at
from tests.ml.cdnow import data_dir, master
from tests.ml.simulate_btyd import repeat_purchases

AS_OF = 273.0
HORIZONS = (90.0, 273.0)


def _history(customer: np.ndarray, day: Floats, amount: Floats, size: int) -> History:
    created = np.full(size, np.inf)
    np.minimum.at(created, customer, day)
    no_events = Events(customer=np.zeros(0, np.int64), day=np.zeros(0),
                       kind=np.zeros(0, np.int64), inbound=np.zeros(0, bool))
    return History(
        customer_ids=np.arange(size, dtype=np.int64), created_day=created,
        orders=Events(customer=customer.astype(np.int64), day=day + 0.5, amount=amount),
        interactions=no_events, currency="USD",
    )


def cdnow() -> History | None:
    """The CDNOW cohort as a history (None without the lifetimes package)."""
    folder = data_dir()
    if folder is None:
        return None
    t = master(folder)
    return _history(t.customer, t.day, t.amount, t.customers)


def simulated(customers: int, seed: int = 0) -> History:
    """BG/NBD buyers (CDNOW's day-scale parameters) with a first purchase in days 0-89."""
    rng = np.random.default_rng(seed)
    truth = btyd.BgNbd(r=0.25, alpha=33.0, a=0.75, b=2.2)
    first = np.floor(rng.uniform(0, 90, customers))
    horizon_end = AS_OF + max(HORIZONS)
    customer, since = repeat_purchases(truth, horizon_end - first, seed)
    day = np.floor(first[customer] + since)
    ids = np.concatenate([np.arange(customers), customer])
    days = np.concatenate([first, day])
    unique = np.unique(ids * 10_000 + days)  # one order per customer-day
    ids, days = (unique // 10_000).astype(np.int64), unique % 10_000
    amount = rng.gamma(6.0, 35.0 / 6.0, len(ids))
    return _history(ids, days, amount, customers)


def check(name: str, history: History, seed: int) -> None:
    """Print served model vs BG/NBD at each horizon."""
    rows = np.flatnonzero(history.created_day < AS_OF)
    rfm = rfm_at(history, AS_OF, rows)
    bg = btyd.fit(rfm.x[rfm.bought], rfm.t_x[rfm.bought], rfm.T[rfm.bought])
    print(f"\n## {name}: {len(rows):,} customers, calibration days 0-272\n")
    print("| horizon | model | MAE | RMSE | total (vs actual) | fit + validation |")
    print("|---|---|---|---|---|---|")
    for horizon in HORIZONS:
        actual = window_totals(history, AS_OF, AS_OF + horizon)[0][rows]
        expected = btyd.expected_purchases(bg, rfm.x, rfm.t_x, rfm.T, horizon)
        started = time.perf_counter()
        model, metrics, served = validate(history, AS_OF, horizon, seed)
        ours = model.predict(history, AS_OF, rows).orders
        seconds = time.perf_counter() - started
        for label, predicted, cost in (
            (f"served: {model.method}" + ("" if served else " (not activated)"), ours,
             f"{seconds:.1f} s"),
            ("BG/NBD", np.where(rfm.bought, expected, 0.0), ""),
        ):
            e = errors(actual, predicted)
            print(f"| {horizon:.0f} d | {label} | {e['mae']:.4f} | {e['rmse']:.4f} | "
                  f"{predicted.sum():,.0f} vs {actual.sum():,.0f} ({e['total']:+.1%}) | {cost} |")
        picks = ", ".join(f"{n} {s['mae']:.3f}/{s['rmse']:.3f}"
                          for n, s in metrics["candidates"].items())
        print(f"|  | validation ({metrics['window_days']:.0f} d, MAE/RMSE) | {picks} | | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", choices=["cdnow", "simulated", "both"], default="both")
    parser.add_argument("--simulated", type=int, default=20_000, metavar="N",
                        help="customers in the simulated population")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.data in ("cdnow", "both"):
        history = cdnow()
        if history is None:
            print("CDNOW: install the cdnow extra (pip install -e '.[cdnow]') to run it")
        else:
            check("CDNOW (lifetimes package data)", history, args.seed)
    if args.data in ("simulated", "both"):
        check(f"Simulated BG/NBD, {args.simulated:,} customers", simulated(args.simulated),
              args.seed)


if __name__ == "__main__":
    main()
