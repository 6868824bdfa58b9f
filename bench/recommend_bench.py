"""The recommender at scale, and against a second method, on simulated purchases with structure.

Prints figures, decides nothing. A population of customers with tastes (a department or two),
products bought together and consumables bought again is simulated over two years; then, in
one process:

- time and peak memory of fitting the co-occurrence model and of computing every customer's
  list (what a training run does);
- recall@10, NDCG@10 and coverage on the last 90 days for the served model, the three
  baselines, and a matrix factorisation (scikit-learn's TruncatedSVD of the decayed
  customer-product matrix, "customers like you"), on the same split.

    .venv/bin/python -m bench.recommend_bench --customers 100000 --products 5000
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ml import recommend  # noqa: E402
from ml.order_lines import Lines  # noqa: E402

END = 20_000.0


def simulate(customers: int, products: int, lines_wanted: int, seed: int) -> tuple[
        Lines, np.ndarray, dict[int, str]]:
    """Departments of products; each product has 3 complements in its department; customers
    lean to 1-2 departments and buy complements of what they bought, and consumables again."""
    rng = np.random.default_rng(seed)
    departments = 20
    dept_of = rng.integers(0, departments, products)
    members = [np.flatnonzero(dept_of == d) for d in range(departments)]
    complements = np.stack([rng.choice(members[d], 3) for d in dept_of])
    consumable = rng.random(products) < 0.2
    per_customer = max(lines_wanted // customers, 1)
    c, p, d = [], [], []
    segments = {}
    taste = rng.integers(0, departments, customers)
    for customer in range(customers):
        segments[customer + 1] = f"D{taste[customer]}"
        bought: list[int] = []
        days = np.sort(END - rng.random(per_customer) * 730)
        for day in days:
            roll = rng.random()
            if bought and roll < 0.3:
                item = int(complements[rng.choice(bought)][rng.integers(0, 3)])
            elif bought and roll < 0.45 and consumable[bought].any():
                item = int(rng.choice(np.asarray(bought)[consumable[bought]]))
            elif roll < 0.9:
                item = int(rng.choice(members[taste[customer]]))
            else:
                item = int(rng.integers(0, products))
            bought.append(item)
            c.append(customer + 1)
            p.append(item + 1)
            d.append(day)
    lines = Lines(np.asarray(c, np.int64), np.asarray(p, np.int64), np.asarray(d),
                  np.ones(len(c)))
    return lines, np.arange(1, products + 1, dtype=np.int64), segments


def svd_recall(lines: Lines, products: np.ndarray, as_of: float, window: float,
               components: int) -> dict[str, float]:
    """Recall@10 etc. of TruncatedSVD scores (seen products not excluded, as for the model)."""
    from scipy import sparse
    from sklearn.decomposition import TruncatedSVD

    split = as_of - window
    past, future = lines.before(split), lines.between(split, as_of)
    customers = np.unique(past.customer)
    rows = np.searchsorted(customers, past.customer)
    cols = np.searchsorted(products, past.product)
    weights = 0.5 ** ((split - past.day) / recommend.HALF_LIFE_DAYS)
    matrix = sparse.csr_matrix((weights, (rows, cols)), shape=(len(customers), len(products)))
    svd = TruncatedSVD(components, random_state=0).fit(matrix)
    truth: dict[int, set[int]] = {}
    for customer, product in zip(future.customer, future.product, strict=True):
        truth.setdefault(int(customer), set()).add(int(np.searchsorted(products, product)))
    known = [c for c in truth if c in set(customers.tolist())]
    index = np.searchsorted(customers, known)
    ranked = []
    for start in range(0, len(index), 2_000):  # a dense block of scores at a time
        scores = svd.inverse_transform(svd.transform(matrix[index[start:start + 2_000]]))
        top = np.argpartition(-scores, recommend.K, axis=1)[:, :recommend.K]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        ranked += np.take_along_axis(top, order, axis=1).tolist()
    cold = [c for c in truth if c not in set(customers.tolist())]
    popular = list(np.argsort(-np.asarray(matrix.sum(axis=0)).ravel())[:recommend.K])
    ranked += [popular for _ in cold]
    return recommend._ranking_metrics(ranked, [truth[c] for c in known + cold], len(products))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--lines", type=int, default=200_000, help="order lines to simulate")
    parser.add_argument("--svd-components", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    lines, products, segments = simulate(args.customers, args.products, args.lines, args.seed)
    print(f"simulated {len(lines.customer):,} lines of {args.customers:,} customers over"
          f" {args.products:,} products in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    metrics = recommend.evaluate(lines, products, END, 90.0, segments)
    print(f"validation (fit on the past, rank for {metrics['customers']:,} buyers):"
          f" {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    model = recommend.fit(lines, products, END, segments)
    fitted = time.perf_counter() - started
    started = time.perf_counter()
    active = np.ones(len(products), dtype=bool)
    customers, matrix = recommend.history_matrix(lines, model)
    listed = sum(len(picks) for picks in recommend.recommend_many(
        model, matrix, [segments.get(int(c)) for c in customers], k=30, allowed=active))
    print(f"fit on everything: {fitted:.1f} s; {listed:,} list entries for every customer:"
          f" {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    svd = svd_recall(lines, products, END, 90.0, args.svd_components)
    print(f"TruncatedSVD({args.svd_components}): {time.perf_counter() - started:.1f} s")
    print(f"{'method':<22} {'recall@10':>10} {'NDCG@10':>9} {'coverage':>9}")
    rows = [(name, metrics[name]) for name in
            ("model", "popularity", "segment popularity", "buy again")]
    for name, values in [*rows, ("matrix factorisation", svd)]:
        assert isinstance(values, dict)
        print(f"{name:<22} {values['recall_at_10']:>10.4f} {values['ndcg_at_10']:>9.4f}"
              f" {values['coverage']:>9.4f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS of this process): {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
