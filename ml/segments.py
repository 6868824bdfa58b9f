"""Customer segments: lifecycle facts first, then KMeans on the established buyers, named.

Customers who have not bought yet ("Prospects") and buyers known for less than ``NEW_DAYS``
("New") are what they are by definition, not by likeness; clustering them with the
established buyers let the many zeros decide the clusters (the demo's leads were
"Hibernating"). The established buyers are clustered on scaled recency, frequency, money and
engagement, and each cluster is named from where its centre stands among them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances, silhouette_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from ml.features import FeatureTable, Floats
from ml.labels import NotEnoughData

DIMENSIONS = ("recency_days", "orders_365d", "revenue_365d", "interactions_90d")
PROFILE = (*DIMENSIONS, "orders_total", "tenure_days")
K_RANGE = range(2, 8)
# the silhouette favours two clusters on skewed data (everyone active against everyone not);
# more segments are more to act on, so the largest k within this share of the best is kept
K_TOLERANCE = 0.95
MIN_CUSTOMERS = 30
MIN_SILHOUETTE = 0.15
SILHOUETTE_SAMPLE = 4_000  # customers whose distances judge every k (64 MB as float32)
NEW_DAYS = 90
PROSPECTS, NEW = "Prospects", "New"
LADDER = ("Champions", "Loyal", "Promising", "At risk", "Hibernating")  # best first


def lifecycle(table: FeatureTable) -> npt.NDArray[np.str_]:
    """``Prospects`` or ``New`` for the customers who are that by definition, else ""."""
    ordered = table.column("orders_total") > 0
    young = table.column("tenure_days") < NEW_DAYS
    return np.where(~ordered, PROSPECTS, np.where(young, NEW, ""))


@dataclass
class SegmentModel:
    """A fitted clustering of established buyers with a readable name and profile each."""

    pipeline: Pipeline
    names: list[str]
    profiles: list[dict[str, float]]

    def assign(self, table: FeatureTable) -> list[str]:
        """The segment name of every row."""
        if len(table.index) == 0:
            return []
        names = lifecycle(table).astype(object)
        established = names == ""
        if established.any():
            labels = self.pipeline.predict(_matrix(table)[established])
            names[established] = np.asarray(self.names, dtype=object)[labels]
        return [str(name) for name in names]


def _matrix(table: FeatureTable) -> Floats:
    return np.column_stack([table.column(name) for name in DIMENSIONS])


def _name(z: Floats) -> str:
    recent, frequent, valuable = z[0] < 0, z[1] > 0, z[2] > 0
    if recent and frequent and valuable:
        return LADDER[0]
    if recent and frequent:
        return LADDER[1]
    if recent:
        return LADDER[2]
    if frequent or valuable:
        return LADDER[3]
    return LADDER[4]


def _ranked(centers: Floats, revenue: list[float]) -> list[tuple[int, str]]:
    """(cluster, name), best first; where two share a name, the one worth more keeps it."""
    base = [_name(center) for center in centers]
    order = sorted(range(len(base)), key=lambda c: (LADDER.index(base[c]), -revenue[c]))
    seen: dict[str, int] = {}
    ranked = []
    for cluster in order:
        seen[base[cluster]] = seen.get(base[cluster], 0) + 1
        count = seen[base[cluster]]
        ranked.append((cluster, base[cluster] if count == 1 else f"{base[cluster]} {count}"))
    return ranked


def _best_k(X: Floats, seed: int) -> tuple[Pipeline, float, dict[str, float]]:
    fitted: dict[int, tuple[Pipeline, float]] = {}
    # the same customers judge every k: their distances (the silhouette's whole cost) once
    sample = np.random.default_rng(seed).permutation(len(X))[:SILHOUETTE_SAMPLE]
    distances: Floats | None = None
    for k in K_RANGE:
        if k >= len(np.unique(X, axis=0)):
            break
        pipeline = make_pipeline(
            FunctionTransformer(np.log1p), StandardScaler(),
            KMeans(n_clusters=k, n_init=4, random_state=seed),
        )
        labels = pipeline.fit_predict(X)
        if distances is None:  # the scaling does not depend on k
            scaled = pipeline[:-1].transform(X[sample]).astype(np.float32)
            distances = pairwise_distances(scaled)
            np.fill_diagonal(distances, 0.0)
        if len(np.unique(labels[sample])) < 2:
            continue  # the sample saw one cluster: no silhouette to judge it by
        score = float(silhouette_score(distances, labels[sample], metric="precomputed"))
        fitted[k] = (pipeline, score)
    if not fitted:
        raise NotEnoughData("customers are too alike to form segments")
    best = max(score for _, score in fitted.values())
    k = max(k for k, (_, score) in fitted.items() if score >= K_TOLERANCE * best)
    return *fitted[k], {str(k): round(score, 4) for k, (_, score) in fitted.items()}


def _profile(table: FeatureTable, members: Any, total: int) -> dict[str, float]:
    profile = {name: round(float(table.column(name)[members].mean()), 2) for name in PROFILE}
    profile["share"] = round(float(np.count_nonzero(members)) / total, 4)
    return profile


def fit(table: FeatureTable, seed: int = 0) -> tuple[SegmentModel, dict[str, Any], bool]:
    """Cluster the established buyers with the k the silhouette picks; activated when the
    clusters are distinct enough. ``profiles`` covers every segment, lifecycle ones too."""
    total = len(table.index)
    stages = lifecycle(table)
    established = stages == ""
    if np.count_nonzero(established) < MIN_CUSTOMERS:
        raise NotEnoughData(
            f"{np.count_nonzero(established)} customers have ordered and been known for"
            f" {NEW_DAYS} days or more; segments need at least {MIN_CUSTOMERS}"
        )
    X = _matrix(table)[established]
    pipeline, silhouette, by_k = _best_k(X, seed)
    labels = np.full(total, -1)
    labels[established] = pipeline.predict(X)
    centers = pipeline[-1].cluster_centers_
    profiles = [_profile(table, labels == label, total) for label in range(len(centers))]
    ranked = _ranked(centers, [p["revenue_365d"] for p in profiles])
    names = [name for _, name in sorted(ranked)]
    everyone = {name: profiles[cluster] for cluster, name in ranked}  # best first
    for stage in (NEW, PROSPECTS):
        if (stages == stage).any():
            everyone[stage] = _profile(table, stages == stage, total)
    model = SegmentModel(pipeline, names, profiles)
    metrics = {
        "silhouette": round(silhouette, 4), "k": len(centers), "silhouette_by_k": by_k,
        "min_silhouette": MIN_SILHOUETTE, "segments": list(everyone), "profiles": everyone,
    }
    return model, metrics, silhouette >= MIN_SILHOUETTE
