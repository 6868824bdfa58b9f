"""Next best products: item-to-item co-occurrence with time decay, judged against baselines.

Pure functions over plain arrays (``Lines``: who bought which product on which day). The model
scores a customer's candidates as a blend of

- "bought with": products that customers who bought what this customer bought also bought,
  weighted by how recently (half-life ``HALF_LIFE_DAYS``) and how often they did (cosine
  similarity of product columns in the decayed customer-product matrix, top ``NEIGHBOURS``
  per product kept);
- "buy again": the customer's own decayed purchases (consumables come back);
- "popular": decayed popularity within the customer's segment, then overall (cold start).

Validation is a time split: fit on the lines before ``as_of - window``, recommend for the
customers who bought in the window, and count how many of the products they then bought were
in their top 10 (recall@10, NDCG@10), with catalogue coverage. Baselines: overall popularity,
popularity in the customer's segment, and buy-again (the customer's own most frequent products).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import sparse

from db.recommendation import KINDS  # the codes of Ranked.kinds, as stored
from ml.order_lines import Lines

HALF_LIFE_DAYS = 180.0
NEIGHBOURS = 30
K = 10
MAX_VALIDATION_CUSTOMERS = 10_000
AGAIN_WEIGHT = 1.0
POPULAR_WEIGHT = 0.05


@dataclass
class Model:
    """A fitted recommender: products, their neighbours, and popularity per segment."""

    products: np.ndarray  # product ids, by column
    neighbours: np.ndarray  # (products, NEIGHBOURS) column indices, -1 when none
    similarity: np.ndarray  # (products, NEIGHBOURS) cosine similarities
    popularity: np.ndarray  # decayed, normalised to a maximum of 1
    segment_popularity: dict[str, np.ndarray] = field(default_factory=dict)
    as_of: float = 0.0
    metrics: dict[str, object] = field(default_factory=dict)

    def column(self) -> dict[int, int]:
        return {int(p): i for i, p in enumerate(self.products)}


def _decayed(lines: Lines, as_of: float) -> np.ndarray:
    return np.asarray(0.5 ** ((as_of - lines.day) / HALF_LIFE_DAYS), dtype=np.float64)


def _matrix(lines: Lines, customers: np.ndarray, products: np.ndarray,
            as_of: float) -> sparse.csr_matrix:
    rows = np.searchsorted(customers, lines.customer)
    cols = np.searchsorted(products, lines.product)
    return sparse.csr_matrix((_decayed(lines, as_of), (rows, cols)),
                             shape=(len(customers), len(products)))


def fit(lines: Lines, products: np.ndarray, as_of: float,
        segments: dict[int, str] | None = None) -> Model:
    """The model of ``lines`` (before ``as_of``) over the catalogue ``products`` (sorted)."""
    customers = np.unique(lines.customer)
    matrix = _matrix(lines, customers, products, as_of)
    binary = matrix.copy()
    binary.data = np.minimum(binary.data, 1.0)  # a decayed "bought it", not "how many times"
    norms = np.sqrt(np.asarray(binary.multiply(binary).sum(axis=0))).ravel()
    co = (binary.T @ binary).tocsr()
    co.setdiag(0)
    co.eliminate_zeros()
    neighbours = np.full((len(products), NEIGHBOURS), -1, dtype=np.int64)
    similarity = np.zeros((len(products), NEIGHBOURS))
    for i in range(len(products)):
        start, end = co.indptr[i], co.indptr[i + 1]
        if start == end:
            continue
        cols, values = co.indices[start:end], co.data[start:end]
        values = values / (norms[i] * norms[cols] + 1e-9)
        top = np.argsort(-values)[:NEIGHBOURS]
        neighbours[i, :len(top)] = cols[top]
        similarity[i, :len(top)] = values[top]
    popularity = np.asarray(matrix.sum(axis=0)).ravel()
    model = Model(products, neighbours, similarity, popularity / max(popularity.max(), 1e-9),
                  as_of=as_of)
    for name, members in _by_segment(customers, segments).items():
        counts = np.asarray(matrix[members].sum(axis=0)).ravel()
        model.segment_popularity[name] = counts / max(counts.max(), 1e-9)
    return model


def _by_segment(customers: np.ndarray, segments: dict[int, str] | None) -> dict[str, np.ndarray]:
    groups: dict[str, list[int]] = {}
    for index, customer in enumerate(customers):
        name = (segments or {}).get(int(customer))
        if name is not None:
            groups.setdefault(name, []).append(index)
    return {name: np.asarray(rows) for name, rows in groups.items() if len(rows) >= 5}


class Scored(NamedTuple):
    """One recommendation: a product column, its score and why (kind, basis column or None)."""

    column: int
    score: float
    kind: str  # BOUGHT_WITH, BUY_AGAIN, POPULAR_IN_SEGMENT, POPULAR
    basis: int | None = None


def recommend(
    model: Model, history: dict[int, float], segment: str | None, k: int = K,
    exclude: set[int] | None = None, allowed: np.ndarray | None = None,
) -> list[Scored]:
    """The top ``k`` product columns for a customer with decayed purchases ``history``
    (column -> weight), leaving out ``exclude`` and columns where ``allowed`` is False."""
    n = len(model.products)
    with_score = np.zeros(n)
    best_basis = np.full(n, -1, dtype=np.int64)
    best_part = np.zeros(n)
    for column, weight in history.items():
        cols = model.neighbours[column]
        valid = cols >= 0
        parts = weight * model.similarity[column][valid]
        cols = cols[valid]
        np.add.at(with_score, cols, parts)
        better = parts > best_part[cols]
        best_part[cols[better]] = parts[better]
        best_basis[cols[better]] = column
    again = np.zeros(n)
    for column, weight in history.items():
        again[column] = AGAIN_WEIGHT * weight
    popular = model.segment_popularity.get(segment or "", model.popularity)
    total = with_score + again + POPULAR_WEIGHT * popular
    if allowed is not None:
        total = np.where(allowed, total, -np.inf)
    for column in exclude or ():
        total[column] = -np.inf
    order = np.argsort(-total, kind="stable")[:k]
    out = []
    for column in order:
        if not np.isfinite(total[column]):
            break
        parts = {"BOUGHT_WITH": with_score[column], "BUY_AGAIN": again[column],
                 "POPULAR": POPULAR_WEIGHT * popular[column]}
        kind = max(parts, key=lambda name: parts[name])
        if kind == "POPULAR" and segment in model.segment_popularity:
            kind = "POPULAR_IN_SEGMENT"
        basis = int(best_basis[column]) if kind == "BOUGHT_WITH" and best_basis[column] >= 0 \
            else None
        out.append(Scored(int(column), float(total[column]), kind, basis))
    return out


CHUNK = 2_000  # customers scored at once (a dense CHUNK x products block)


def _neighbour_matrix(model: Model) -> sparse.csr_matrix:
    n = len(model.products)
    rows = np.repeat(np.arange(n), model.neighbours.shape[1])
    cols = model.neighbours.ravel()
    keep = cols >= 0
    return sparse.csr_matrix((model.similarity.ravel()[keep], (rows[keep], cols[keep])),
                             shape=(n, n))




@dataclass
class Ranked:
    """Many customers' top picks as arrays (row ``i``: customer ``i``), best first: product
    columns, scores, kinds (indexes into ``KINDS``), the bought column behind a BOUGHT_WITH
    pick (-1 elsewhere) and how many of the ``k`` slots hold a pick (the rest are padding)."""

    columns: np.ndarray  # (customers, k) int64
    scores: np.ndarray  # (customers, k) float64
    kinds: np.ndarray  # (customers, k) int8
    basis: np.ndarray  # (customers, k) int64
    counts: np.ndarray  # (customers,) int64


def rank(
    model: Model, history: sparse.csr_matrix, segments: Sequence[str | None], k: int = K,
    allowed: np.ndarray | None = None, exclude_bought: bool = False,
) -> Ranked:
    """``recommend`` for many customers at once, as arrays: row ``i`` of ``history`` holds
    customer ``i``'s decayed purchases by product column, ``segments[i]`` its segment."""
    near = _neighbour_matrix(model)
    names = sorted(model.segment_popularity)
    popularity = np.stack([model.popularity, *(model.segment_popularity[n] for n in names)])
    index = {name: i + 1 for i, name in enumerate(names)}
    of_row = np.array([index.get(s or "", 0) for s in segments], dtype=np.int64)
    n, width = history.shape[0], min(k, history.shape[1])
    out = Ranked(np.zeros((n, width), np.int64), np.zeros((n, width)),
                 np.zeros((n, width), np.int8), np.full((n, width), -1, np.int64),
                 np.zeros(n, np.int64))
    for start in range(0, n, CHUNK):
        block = history[start:start + CHUNK]
        rows = slice(start, start + block.shape[0])
        with_score = (block @ near).toarray()
        again = AGAIN_WEIGHT * block.toarray()
        popular = POPULAR_WEIGHT * popularity[of_row[rows]]
        total = with_score + again + popular
        if allowed is not None:
            total[:, ~allowed] = -np.inf
        if exclude_bought:
            total[again > 0] = -np.inf
        top = np.argpartition(-total, min(k, total.shape[1] - 1), axis=1)[:, :width]
        order = np.argsort(-np.take_along_axis(total, top, axis=1), axis=1, kind="stable")
        picks = np.take_along_axis(top, order, axis=1)
        scores = np.take_along_axis(total, picks, axis=1)
        parts = np.stack([np.take_along_axis(m, picks, axis=1)
                          for m in (with_score, again, popular)])
        kinds = np.argmax(parts, axis=0).astype(np.int8)  # ties go to the first
        kinds[(kinds == 2) & (of_row[rows] > 0)[:, None]] = 3  # popular in the segment
        finite = np.isfinite(scores)
        out.columns[rows], out.scores[rows], out.kinds[rows] = picks, scores, kinds
        out.basis[rows] = _bases(model, block, picks, (kinds == 0) & finite)
        out.counts[rows] = finite.sum(axis=1)  # the finite scores come first
    return out


def recommend_many(
    model: Model, history: sparse.csr_matrix, segments: Sequence[str | None], k: int = K,
    allowed: np.ndarray | None = None, exclude_bought: bool = False,
) -> list[list[Scored]]:
    """``rank``'s picks as ``Scored`` lists, one per customer."""
    ranked = rank(model, history, segments, k, allowed, exclude_bought)
    out: list[list[Scored]] = []
    for row, count in enumerate(ranked.counts.tolist()):
        out.append([Scored(c, s, KINDS[kind], None if b < 0 else b) for c, s, kind, b in zip(
            ranked.columns[row, :count].tolist(), ranked.scores[row, :count].tolist(),
            ranked.kinds[row, :count].tolist(), ranked.basis[row, :count].tolist(),
            strict=True)])
    return out


def _bases(model: Model, block: sparse.csr_matrix, picks: np.ndarray,
           wanted: np.ndarray) -> np.ndarray:
    """For each pick where ``wanted``, the bought column that contributed most to its "bought
    with" score (-1 elsewhere); a tie goes to the lower column, as ``recommend`` does."""
    out = np.full(picks.shape, -1, dtype=np.int64)
    if not wanted.any():
        return out
    n, width = len(model.products), model.neighbours.shape[1]
    owner = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
    targets = model.neighbours[block.indices].ravel()
    parts = (model.similarity[block.indices] * block.data[:, None]).ravel()
    sources = np.repeat(block.indices, width)
    rows, slots = np.nonzero(wanted)
    asked = rows * n + picks[rows, slots]
    flagged = np.zeros(block.shape[0] * n, dtype=bool)
    flagged[asked] = True
    keys = np.repeat(owner, width) * n + np.maximum(targets, 0)
    keep = (targets >= 0) & flagged[keys]  # only the parts of picks that need a basis
    keys, parts, sources = keys[keep], parts[keep], sources[keep]
    order = np.lexsort((-parts, keys))  # by (customer, target), the largest part first
    keys, sources = keys[order], sources[order]
    at = np.minimum(np.searchsorted(keys, asked), max(len(keys) - 1, 0))
    hit = (keys[at] == asked) if len(keys) else np.zeros(len(asked), bool)
    out[rows[hit], slots[hit]] = sources[at[hit]]
    return out


def history_matrix(lines: Lines, model: Model) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Customers (sorted ids) and their decayed purchases by product column, as of the model's
    day (lines naming products outside the model are left out)."""
    known = np.isin(lines.product, model.products)
    customers = np.unique(lines.customer[known])
    rows = np.searchsorted(customers, lines.customer[known])
    cols = np.searchsorted(model.products, lines.product[known])
    weights = 0.5 ** ((model.as_of - lines.day[known]) / HALF_LIFE_DAYS)
    matrix = sparse.csr_matrix((weights, (rows, cols)),
                               shape=(len(customers), len(model.products)))
    matrix.sum_duplicates()
    return customers, matrix


def histories(lines: Lines, model: Model) -> dict[int, dict[int, float]]:
    """Each customer's decayed purchases as of the model's day, by product column."""
    columns = model.column()
    weights = _decayed(lines, model.as_of)
    out: dict[int, dict[int, float]] = {}
    for customer, product, weight in zip(lines.customer, lines.product, weights, strict=True):
        column = columns.get(int(product))
        if column is not None:
            bought = out.setdefault(int(customer), {})
            bought[column] = bought.get(column, 0.0) + float(weight)
    return out


def _ranking_metrics(ranked: Sequence[Sequence[int]], truth: Sequence[set[int]],
                     catalogue: int) -> dict[str, float]:
    recalls: list[float] = []
    ndcgs: list[float] = []
    shown: set[int] = set()
    for items, wanted in zip(ranked, truth, strict=True):
        hits = [1.0 if item in wanted else 0.0 for item in items[:K]]
        recalls.append(sum(hits) / min(len(wanted), K))
        ideal = sum(1 / np.log2(i + 2) for i in range(min(len(wanted), K)))
        ndcgs.append(sum(h / np.log2(i + 2) for i, h in enumerate(hits)) / ideal)
        shown.update(items[:K])
    return {"recall_at_10": round(float(np.mean(recalls)), 4),
            "ndcg_at_10": round(float(np.mean(ndcgs)), 4),
            "coverage": round(len(shown) / max(catalogue, 1), 4)}


def evaluate(lines: Lines, products: np.ndarray, as_of: float, window: float,
             segments: dict[int, str] | None = None) -> dict[str, object]:
    """Recall@10, NDCG@10 and coverage of the model and of each baseline on the last
    ``window`` days before ``as_of``, for the customers who bought in it."""
    split = as_of - window
    seen = lines.before(split)
    model = fit(seen, products, split, segments)
    future = lines.between(split, as_of)
    columns = model.column()
    truth: dict[int, set[int]] = {}
    for customer, product in zip(future.customer, future.product, strict=True):
        truth.setdefault(int(customer), set()).add(columns[int(product)])
    customers = sorted(truth)
    if len(customers) > MAX_VALIDATION_CUSTOMERS:  # the measures need a sample, not everyone
        customers = sorted(int(c) for c in np.random.default_rng(0).choice(
            customers, MAX_VALIDATION_CUSTOMERS, replace=False))
    judged = np.isin(seen.customer, customers)
    past = histories(Lines(seen.customer[judged], seen.product[judged], seen.day[judged],
                           seen.quantity[judged]), model)
    wanted = [truth[c] for c in customers]
    segment_of = segments or {}
    known, matrix = history_matrix(seen, model)
    rows = np.searchsorted(known, customers)
    present = (rows < len(known)) & (known[np.minimum(rows, len(known) - 1)] == customers)
    empty = sparse.csr_matrix((1, len(products)))
    block = sparse.vstack([matrix[int(r)] if ok else empty for r, ok in
                           zip(rows, present, strict=True)]).tocsr()
    ranked_model = recommend_many(model, block, [segment_of.get(c) for c in customers])

    def popular_in(segment: str | None) -> list[int]:
        scores = model.segment_popularity.get(segment or "", model.popularity)
        return [int(i) for i in np.argsort(-scores, kind="stable")[:K]]

    overall = popular_in(None)
    ranked = {
        "model": [[s.column for s in picks] for picks in ranked_model],
        "popularity": [overall for _ in customers],
        "segment popularity": [popular_in(segment_of.get(c)) for c in customers],
        "buy again": [_again(past.get(c, {}), overall) for c in customers],
    }
    results = {name: _ranking_metrics(r, wanted, len(products)) for name, r in ranked.items()}
    return {"customers": len(customers), "window_days": window, **results}


def _again(history: dict[int, float], fallback: list[int]) -> list[int]:
    own = [c for c, _ in sorted(history.items(), key=lambda kv: -kv[1])][:K]
    return own + [c for c in fallback if c not in own][:K - len(own)]


def beats_baselines(metrics: dict[str, object]) -> bool:
    """Whether the model's recall@10 is above every baseline's."""
    def recall(name: str) -> float:
        value = metrics[name]
        assert isinstance(value, dict)
        return float(value["recall_at_10"])

    return all(recall("model") > recall(b)
               for b in ("popularity", "segment popularity", "buy again"))
