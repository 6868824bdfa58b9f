"""Held-out check of the served purchase model against BG/NBD, CDNOW-style.

One order per customer-day; calibration from day 0 (1 January) to the end of September
(273 days); each customer's orders over the following 90 and 273 days are predicted by the
model the CRM would serve (``ml.lifetime_validation``: chosen by time-split validation inside
the calibration period) and by a BG/NBD fitted on the same calibration period, then compared
with what happened: per-customer MAE and RMSE, and the total.

Data: the CDNOW cohort (23,570 customers, Fader, Hardie & Lee 2005) from the ``lifetimes``
package's data files when installed (``pip install -e '.[cdnow]'``), and a simulated
population (``--simulated N``): BG/NBD buyers with r=0.25, alpha=33 days, a=0.75, b=2.2
(CDNOW's day-scale estimates) joining over the first 90 days (see ``simulated``). ``seasonal``
is a business with a December season (rate 1 + 0.35 cos, peak 6 December; r=0.5, alpha=20,
a=0.6, b=6) whose customers joined over a year: calibration runs to the end of September of
its second year (21 months), the horizons are the same.

    .venv/bin/python -m bench.btyd_bench [--data cdnow|simulated|seasonal|both|all]
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np

from ml import btyd
from ml.btyd_seasons import OMEGA, Season
from ml.features import History, window_totals
from ml.lifetime_validation import errors, validate
from ml.rfm import rfm_at
from ml.scoring import ActiveModels, score
from ml.training import ACTIVATED, train_all
from tests.ml.cdnow import data_dir, master
from tests.ml.simulate_btyd import JANUARY_2024, as_history, seasonal, simulated

AS_OF = 273.0
HORIZONS = (90.0, 273.0)
SEASONAL_TRUTH = btyd.BgNbd(r=0.5, alpha=20.0, a=0.6, b=6.0)
DECEMBER = Season(0.35 * math.cos(OMEGA * (JANUARY_2024 + 340)),
                  0.35 * math.sin(OMEGA * (JANUARY_2024 + 340)))


def cdnow() -> History | None:
    """The CDNOW cohort as a history (None without the lifetimes package)."""
    folder = data_dir()
    if folder is None:
        return None
    t = master(folder)
    return as_history(t.customer, t.day, t.amount, t.customers)


def _pipeline(history: History, as_of: float, horizon: float, seed: int,
              rows: np.ndarray) -> tuple[str, Any]:
    """What the whole training run serves as REVENUE (supervised or buy-till-you-die)."""
    outcomes = train_all(history, as_of, horizon, seed=seed)
    revenue = outcomes["REVENUE"]
    if revenue.status != ACTIVATED:
        return f"pipeline: REVENUE {revenue.status}", None
    scores = score(history, as_of, ActiveModels(revenue=revenue.artifact), rows)
    return f"pipeline: {revenue.metrics.get('served')}", scores.orders


def _row(horizon: float, label: str, actual: np.ndarray, predicted: np.ndarray,
         base: dict[str, float] | None, cost: str = "") -> None:
    e = errors(actual, predicted)
    wins = "" if base is None else " / ".join(
        ("**yes**" if e[k] < base[k] else "no") for k in ("mae", "rmse"))
    print(f"| {horizon:.0f} d | {label} | {e['mae']:.4f} | {e['rmse']:.4f} | "
          f"{predicted.sum():,.0f} vs {actual.sum():,.0f} ({e['total']:+.1%}) | {wins} | {cost} |")


def _intervals(actual: np.ndarray, ours: np.ndarray, theirs: np.ndarray, seed: int,
               draws: int = 400) -> str:
    """95 % paired-bootstrap intervals (over customers) of our error minus theirs."""
    rng = np.random.default_rng(seed)
    mae, rmse = [], []
    for _ in range(draws):
        i = rng.integers(0, len(actual), len(actual))
        a, o, t = actual[i], ours[i], theirs[i]
        mae.append(np.mean(np.abs(o - a)) - np.mean(np.abs(t - a)))
        rmse.append(np.sqrt(np.mean((o - a) ** 2)) - np.sqrt(np.mean((t - a) ** 2)))
    low, high = np.percentile(mae, [2.5, 97.5]), np.percentile(rmse, [2.5, 97.5])
    return (f"served - BG/NBD, 95 % bootstrap interval over customers: MAE "
            f"[{low[0]:+.4f}, {low[1]:+.4f}], RMSE [{high[0]:+.4f}, {high[1]:+.4f}]")


def _total_factor(history: History, cutoff: float, window: float) -> float:
    """Actual over BG/NBD-expected orders in the ``window`` days before ``cutoff``."""
    rows = np.flatnonzero(history.created_day < cutoff - window)
    rfm = rfm_at(history, cutoff - window, rows)
    bg = btyd.fit(rfm.x[rfm.bought], rfm.t_x[rfm.bought], rfm.T[rfm.bought])
    expected = np.where(rfm.bought, btyd.expected_purchases(bg, rfm.x, rfm.t_x, rfm.T, window), 0)
    return float(window_totals(history, cutoff - window, cutoff)[0][rows].sum() / expected.sum())


def check(name: str, history: History, seed: int, pipeline: bool = False,
          as_of: float = AS_OF) -> None:
    """Print served model vs BG/NBD at each horizon, with references that are not served."""
    rows = np.flatnonzero(history.created_day < as_of)
    rfm = rfm_at(history, as_of, rows)
    bg = btyd.fit(rfm.x[rfm.bought], rfm.t_x[rfm.bought], rfm.T[rfm.bought])
    print(f"\n## {name}: {len(rows):,} customers\n")
    print("| horizon | model | MAE | RMSE | total predicted vs actual | beats BG/NBD "
          "(MAE / RMSE) | fit + validation |")
    print("|---|---|---|---|---|---|---|")
    for horizon in HORIZONS:
        actual = window_totals(history, as_of, as_of + horizon)[0][rows]
        expected = np.where(rfm.bought,
                            btyd.expected_purchases(bg, rfm.x, rfm.t_x, rfm.T, horizon), 0.0)
        base = errors(actual, expected)
        started = time.perf_counter()
        model, metrics, served = validate(history, as_of, horizon, seed)
        ours = model.predict(history, as_of, rows).orders
        seconds = time.perf_counter() - started
        label = f"**served: {model.method}**" + ("" if served else " (not activated)")
        _row(horizon, label, actual, ours, base, f"{seconds:.1f} s")
        _row(horizon, "BG/NBD (same calibration period)", actual, expected, None)
        print(f"|  | {_intervals(actual, ours, expected, seed)} | | | | | |")
        if pipeline:
            started = time.perf_counter()
            label, predicted = _pipeline(history, as_of, horizon, seed, rows)
            if predicted is not None:
                _row(horizon, label, actual, predicted, base,
                     f"{time.perf_counter() - started:.1f} s")
        factor = _total_factor(history, as_of, metrics["window_days"])
        _row(horizon, f"not served: BG/NBD x {factor:.3f} (total learned on the last "
             f"{metrics['window_days']:.0f} d)", actual, expected * factor, base)
        _row(horizon, "not served: 0 for everyone (nearly every customer's median)", actual,
             np.zeros(len(rows)), base)
        picks = ", ".join(f"{n} {s['mae']:.4f} / {s['rmse']:.4f}"
                          for n, s in metrics["candidates"].items())
        print(f"|  | validation ({metrics['window_days']:.0f} d before the as-of date, "
              f"MAE / RMSE) | {picks} | | | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", choices=["cdnow", "simulated", "seasonal", "both", "all"],
                        default="both", help="both: CDNOW and simulated; all: the three")
    parser.add_argument("--simulated", type=int, default=20_000, metavar="N",
                        help="customers in the simulated population")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pipeline", action="store_true",
                        help="also run the whole training run (supervised models included) and"
                             " score with the REVENUE model it serves")
    args = parser.parse_args()
    if args.data in ("cdnow", "both", "all"):
        history = cdnow()
        if history is None:
            print("CDNOW: install the cdnow extra (pip install -e '.[cdnow]') to run it")
        else:
            check("CDNOW (lifetimes package data)", history, args.seed, args.pipeline)
    if args.data in ("simulated", "both", "all"):
        population = simulated(args.simulated, end=AS_OF + max(HORIZONS), seed=args.seed)
        check("Simulated BG/NBD", population, args.seed,
              args.pipeline)
    if args.data in ("seasonal", "all"):
        history, _ = seasonal(args.simulated, season=DECEMBER, truth=SEASONAL_TRUTH,
                              years=21 / 12 + 0.75, seed=args.seed)
        check("Simulated seasonal BG/NBD, calibration"
              " from 1 January of one year to 30 September of the next", history, args.seed,
              args.pipeline, as_of=JANUARY_2024 + 365 + AS_OF)


if __name__ == "__main__":
    main()
