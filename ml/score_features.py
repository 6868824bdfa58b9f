"""Features and labels for custom predictions, as of a cutoff and from earlier events only.

On top of the usual order and interaction features: the customer's most common tags and its
lifecycle stage as of the cutoff, and how often (and how lately) the outcome happened before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.features import MIN_DAYS, Events, Floats, Ints, existing_at, features_at
from ml.score_history import STAGES, ScoreHistory

MAX_TAGS = 20
OUTCOME = ("outcome_before", "outcome_365d", "days_since_outcome")


def tag_vocabulary(history: ScoreHistory, limit: int = MAX_TAGS) -> tuple[str, ...]:
    """The ``limit`` tags most customers were ever given (the model's tag features)."""
    tags = history.tags
    assert tags.kind is not None
    assert tags.inbound is not None
    added = ~tags.inbound
    pairs = np.unique(np.stack([tags.customer[added], tags.kind[added]]), axis=1) \
        if added.any() else np.zeros((2, 0), np.int64)
    counts = np.bincount(pairs[1], minlength=len(history.tag_names))
    ranked = sorted(range(len(counts)), key=lambda k: (-counts[k], history.tag_names[k]))
    return tuple(history.tag_names[k] for k in ranked[:limit] if counts[k] > 0)


def _last(events: Events, mask: np.ndarray, size: int) -> Floats:
    last = np.full(size, -np.inf)
    np.maximum.at(last, events.customer[mask], events.day[mask])
    return last


def _tags_at(history: ScoreHistory, cutoff: float, rows: Ints,
             vocabulary: tuple[str, ...]) -> dict[str, Floats]:
    tags, size = history.tags, history.base.size
    assert tags.kind is not None
    assert tags.inbound is not None
    before = tags.before(cutoff)
    out = {}
    for name in vocabulary:
        if name not in history.tag_names:
            out[f"tag:{name}"] = np.zeros(len(rows))
            continue
        this = before & (tags.kind == history.tag_names.index(name))
        added = _last(tags, this & ~tags.inbound, size)[rows]
        removed = _last(tags, this & tags.inbound, size)[rows]
        out[f"tag:{name}"] = (added > removed).astype(np.float64)
    return out


def _stage_at(history: ScoreHistory, cutoff: float, rows: Ints) -> dict[str, Floats]:
    stages, size = history.stages, history.base.size
    assert stages.kind is not None
    before = stages.before(cutoff) & (stages.kind >= 0)
    # the latest change wins: order by day, the last write per customer stays
    order = np.argsort(stages.day[before], kind="stable")
    current = np.full(size, -1)
    current[stages.customer[before][order]] = stages.kind[before][order]
    return {f"stage:{s}": (current[rows] == i).astype(np.float64) for i, s in enumerate(STAGES)}


def _outcome_at(events: Events, cutoff: float, rows: Ints, size: int,
                tenure: Floats) -> dict[str, Floats]:
    before = events.before(cutoff)
    recent = events.between(cutoff - 365, cutoff)
    last = _last(events, before, size)[rows]
    return {
        "outcome_before": np.bincount(events.customer[before], minlength=size)[rows]
        .astype(np.float64),
        "outcome_365d": np.bincount(events.customer[recent], minlength=size)[rows]
        .astype(np.float64),
        "days_since_outcome": np.maximum(np.where(np.isfinite(last), cutoff - last, tenure),
                                         MIN_DAYS),
    }


def table_at(history: ScoreHistory, definition_id: int, cutoff: float, rows: Ints,
             vocabulary: tuple[str, ...]) -> tuple[tuple[str, ...], Floats]:
    """Feature names and values of ``rows`` as of ``cutoff`` for one definition."""
    base = features_at(history.base, cutoff, rows)
    columns = dict(zip(base.names, base.values.T, strict=True))
    columns.update(_tags_at(history, cutoff, rows, vocabulary))
    columns.update(_stage_at(history, cutoff, rows))
    columns.update(_outcome_at(history.outcomes[definition_id], cutoff, rows,
                               history.base.size, columns["tenure_days"]))
    names = tuple(columns)
    values = np.column_stack([columns[n] for n in names]) if len(rows) else \
        np.zeros((0, len(names)))
    return names, values


def labels_at(events: Events, cutoff: float, horizon: float, rows: Ints, size: int) -> Floats:
    """1.0 where the outcome happened in ``[cutoff, cutoff + horizon)``."""
    during = events.between(cutoff, cutoff + horizon)
    return (np.bincount(events.customer[during], minlength=size)[rows] > 0).astype(np.float64)


@dataclass(frozen=True)
class ScoreExamples:
    """Feature rows and labels from one or more cutoffs."""

    names: tuple[str, ...]
    X: Floats
    y: Floats

    def __len__(self) -> int:
        return len(self.y)

    def positives(self) -> int:
        """How many rows had the outcome."""
        return int(self.y.sum())


def examples_at(history: ScoreHistory, definition_id: int, cutoffs: tuple[float, ...],
                horizon: float, vocabulary: tuple[str, ...]) -> ScoreExamples:
    """Examples from each cutoff: features before it, the outcome in the horizon after it."""
    names: tuple[str, ...] = ()
    parts, labels = [], []
    for cutoff in cutoffs:
        rows = existing_at(history.base, cutoff)
        names, X = table_at(history, definition_id, cutoff, rows, vocabulary)
        parts.append(X)
        labels.append(labels_at(history.outcomes[definition_id], cutoff, horizon, rows,
                                history.base.size))
    return ScoreExamples(names, np.concatenate(parts), np.concatenate(labels))
