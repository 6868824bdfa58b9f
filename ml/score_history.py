"""What custom predictions learn from: the usual history, plus tags, stages and outcome events.

Reads go to the replica when there is one; ``customer_ids`` restricts every read to a batch of
customers, so training reads a sample and scoring reads one batch at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from db import prediction_outcome as outcomes
from db.sql import fetch_one, replica
from ml.features import Events, History
from ml.history import _indexed, load_history

STAGES = ("LEAD", "PROSPECT", "CUSTOMER", "CHURNED")


@dataclass(frozen=True)
class ScoreHistory:
    """``base`` with the tag and stage history (``kind`` indexes ``tag_names``/``STAGES``;
    ``inbound`` marks a tag's removal) and each definition's outcome events."""

    base: History
    tags: Events
    tag_names: tuple[str, ...]
    stages: Events
    outcomes: dict[int, Events]


def _subset(customer_ids: Sequence[int] | None, params: list[Any], column: str) -> str:
    if customer_ids is None:
        return ""
    params.append(list(customer_ids))
    return f" AND {column} = ANY(${len(params)}::bigint[])"


async def _arrays(sql: str, params: list[Any]) -> list[Any]:
    row = await fetch_one(sql, params, replica())
    return [value or [] for value in (row or {}).values()]


async def _changes(org_id: int, as_of: datetime, field: str,
                   customer_ids: Sequence[int] | None) -> list[Any]:
    params: list[Any] = [org_id, as_of, field]
    return await _arrays(
        "SELECT array_agg(customer_id) AS a, array_agg(extract(epoch FROM changed_at)::float8"
        " / 86400) AS b, array_agg(value) AS c, array_agg(removed) AS d FROM customer_change"
        " WHERE organization_id = $1 AND changed_at < $2 AND field = $3"
        f"{_subset(customer_ids, params, 'customer_id')}", params,
    )


async def _outcome_events(org_id: int, outcome: dict[str, Any], as_of: datetime,
                          customer_ids: Sequence[int] | None) -> list[Any]:
    sql, extra = outcomes.events_sql(outcome, as_of)
    params: list[Any] = [org_id, as_of, *extra]
    subset = _subset(customer_ids, params, "e.customer_id")
    return await _arrays(
        f"SELECT array_agg(e.customer_id) AS a, array_agg(e.day) AS b FROM ({sql}) e"
        f" WHERE TRUE{subset}", params,
    )


async def customer_ids(*, org_id: int) -> np.ndarray[Any, Any]:
    """The organization's live customers' ids, ascending."""
    (ids,) = await _arrays(
        "SELECT array_agg(id ORDER BY id) AS a FROM customer WHERE organization_id = $1"
        " AND deleted_at IS NULL", [org_id],
    )
    return np.asarray(ids, dtype=np.int64)


async def load(
    *, org_id: int, as_of: datetime, definitions: Sequence[dict[str, Any]],
    customer_ids: Sequence[int] | None = None,
) -> ScoreHistory:
    """The history of (some) customers before ``as_of`` with every definition's outcomes."""
    base = await load_history(org_id=org_id, as_of=as_of, customer_ids=customer_ids)
    ids = base.customer_ids
    t_cust, t_day, t_value, t_removed = await _changes(org_id, as_of, "tag", customer_ids)
    names, codes = np.unique(np.asarray(t_value, dtype=object).astype(str), return_inverse=True)
    tags, _ = _indexed(ids, t_cust, t_day, kind=codes.astype(np.int64),
                       inbound=np.asarray(t_removed, dtype=bool))
    s_cust, s_day, s_value, _ = await _changes(org_id, as_of, "stage", customer_ids)
    stage_codes = [STAGES.index(v) if v in STAGES else -1 for v in s_value]
    stages, _ = _indexed(ids, s_cust, s_day, kind=stage_codes)
    events = {}
    for definition in definitions:
        cust, day = await _outcome_events(org_id, definition["outcome"], as_of, customer_ids)
        events[int(definition["id"])] = _indexed(ids, cust, day)[0]
    return ScoreHistory(base=base, tags=tags, tag_names=tuple(str(n) for n in names),
                        stages=stages, outcomes=events)
