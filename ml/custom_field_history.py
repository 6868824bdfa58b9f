"""Reading customer custom field values, as they were over time, for the models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from db import custom_field as custom_fields
from db.sql import fetch, fetch_one, replica
from ml.custom_fields import MAX_OPTIONS, SELECT, TYPES, FieldSpec, FieldValues


async def _top_options(org_id: int, definition: dict[str, Any]) -> tuple[str, ...]:
    """The select's options most live customers have now (at most ``MAX_OPTIONS``)."""
    rows = await fetch(
        "SELECT custom_fields ->> $2 AS v, count(*) AS n FROM customer"
        " WHERE organization_id = $1 AND deleted_at IS NULL AND custom_fields ->> $2"
        " = ANY($3::text[]) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $4",
        [org_id, definition["key"], list(definition["options"]), MAX_OPTIONS], replica(),
    )
    return tuple(str(r["v"]) for r in rows)


async def specs(*, org_id: int) -> tuple[FieldSpec, ...]:
    """The organization's customer fields that feed the models, in their order."""
    found = []
    for d in await custom_fields.list_(org_id=org_id,
                                       object_type=custom_fields.ObjectType.CUSTOMER):
        if d["field_type"] not in TYPES:
            continue
        options = await _top_options(org_id, d) if d["field_type"] == SELECT else ()
        if d["field_type"] == SELECT and not options:
            continue
        found.append(FieldSpec(d["key"], d["label"], d["field_type"], options, d["currency"]))
    return tuple(found)


async def load(
    *, org_id: int, as_of: datetime, ids: np.ndarray[Any, Any],
    customer_ids: Sequence[int] | None = None,
) -> FieldValues | None:
    """Every value set on those fields before ``as_of`` for the customers ``ids`` (sorted),
    or None when no field feeds the models."""
    fields = await specs(org_id=org_id)
    if not fields:
        return None
    params: list[Any] = [org_id, as_of, [f"custom:{s.key}" for s in fields]]
    subset = ""
    if customer_ids is not None:
        params.append(list(customer_ids))
        subset = " AND customer_id = ANY($4::bigint[])"
    row = await fetch_one(
        "SELECT array_agg(customer_id) AS a, array_agg(extract(epoch FROM changed_at)::float8"
        " / 86400) AS b, array_agg(array_position($3::text[], field::text) - 1) AS c,"
        " array_agg(value) AS d FROM customer_change WHERE organization_id = $1"
        f" AND changed_at < $2 AND field = ANY($3::text[]) AND NOT removed{subset}",
        params, replica(),
    )
    cust, day, field, value = ((row or {}).get(k) or [] for k in "abcd")
    customers = np.asarray(cust, dtype=np.int64)
    pos = np.searchsorted(ids, customers) if len(ids) else np.zeros(len(customers), np.int64)
    known = ids[np.minimum(pos, len(ids) - 1)] == customers if len(ids) else \
        np.zeros(len(customers), bool)
    return FieldValues(
        specs=fields, customer=pos[known].astype(np.int64),
        day=np.asarray(day, dtype=np.float64)[known],
        field=np.asarray(field, dtype=np.int64)[known],
        value=np.asarray(value, dtype=object)[known],
    )
