"""Customer segments: KMeans on scaled recency, frequency, money and engagement, named."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances, silhouette_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from ml.features import FeatureTable, Floats
from ml.labels import NotEnoughData

DIMENSIONS = ("recency_days", "orders_365d", "revenue_365d", "interactions_90d")
PROFILE = (*DIMENSIONS, "orders_total", "tenure_days")
K_RANGE = range(2, 8)
MIN_CUSTOMERS = 30
MIN_SILHOUETTE = 0.15
SILHOUETTE_SAMPLE = 4_000  # customers whose distances judge every k (64 MB as float32)
NEW_DAYS = 90


@dataclass
class SegmentModel:
    """A fitted clustering with a readable name and profile per cluster."""

    pipeline: Pipeline
    names: list[str]
    profiles: list[dict[str, float]]

    def assign(self, table: FeatureTable) -> list[str]:
        """The segment name of every row."""
        if len(table.index) == 0:
            return []
        labels = self.pipeline.predict(_matrix(table))
        return [self.names[label] for label in labels]


def _matrix(table: FeatureTable) -> Floats:
    return np.column_stack([table.column(name) for name in DIMENSIONS])


def _name(z: Floats, profile: dict[str, float]) -> str:
    recent, frequent, valuable = z[0] < 0, z[1] > 0, z[2] > 0
    if profile["orders_total"] < 0.5:
        return "Prospects"
    if profile["tenure_days"] < NEW_DAYS:
        return "New"
    if recent and frequent and valuable:
        return "Champions"
    if recent and frequent:
        return "Loyal"
    if recent:
        return "Promising"
    if frequent or valuable:
        return "At risk"
    return "Hibernating"


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return out


def _best_k(X: Floats, seed: int) -> tuple[Pipeline, float]:
    best: tuple[Pipeline, float] | None = None
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
        if best is None or score > best[1]:
            best = (pipeline, score)
    if best is None:
        raise NotEnoughData("customers are too alike to form segments")
    return best


def fit(table: FeatureTable, seed: int = 0) -> tuple[SegmentModel, dict[str, Any], bool]:
    """Cluster with the k of best silhouette; activated when the clusters are distinct enough."""
    if len(table.index) < MIN_CUSTOMERS:
        raise NotEnoughData(
            f"{len(table.index)} customers; segments need at least {MIN_CUSTOMERS}"
        )
    X = _matrix(table)
    pipeline, silhouette = _best_k(X, seed)
    labels = pipeline.predict(X)
    centers = pipeline[-1].cluster_centers_
    raw_names, profiles = [], []
    for label in range(len(centers)):
        members = labels == label
        profile = {name: round(float(table.column(name)[members].mean()), 2) for name in PROFILE}
        profile["share"] = round(float(members.mean()), 4)
        profiles.append(profile)
        raw_names.append(_name(centers[label], profile))
    model = SegmentModel(pipeline, _unique(raw_names), profiles)
    metrics = {
        "silhouette": round(silhouette, 4), "k": len(centers),
        "min_silhouette": MIN_SILHOUETTE, "segments": model.names,
        "profiles": dict(zip(model.names, profiles, strict=True)),
    }
    return model, metrics, silhouette >= MIN_SILHOUETTE
