"""Customer histories as arrays for training and scoring, read from the CRM's own tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from db import exchange_rate as rates
from db.prediction import org_currency
from db.sql import fetch_one, replica
from ml import custom_field_history
from ml.features import CHANNELS, Events, History, empty_events
from ml.order_lines import Lines


def _subset(customer_ids: Sequence[int] | None, params: list[Any], column: str) -> str:
    if customer_ids is None:
        return ""
    params.append(list(customer_ids))
    return f" AND {column} = ANY(${len(params)}::bigint[])"


async def _events(sql: str, params: list[Any]) -> list[Any]:
    row = await fetch_one(sql, params, replica())  # a heavy read: the replica if any
    return [value or [] for value in (row or {}).values()]


async def load_email_events(
    *, org_id: int, as_of: datetime, customer_ids: Sequence[int] | None = None
) -> tuple[list[int], list[float], list[int]] | None:
    """EMAIL OUTCOMES HOOK: (customer ids, days, outcome codes) once the email domain exists.

    Return one entry per outcome event before ``as_of``, with the code an index into
    ``ml.features.EMAIL_OUTCOMES``; None (today) means no email features are computed.
    """
    return None


async def load_history(
    *, org_id: int, as_of: datetime, customer_ids: Sequence[int] | None = None
) -> History:
    """The live customers' PAID orders and interactions before ``as_of``, as arrays.

    A customer counts as existing from its first order or interaction when that is earlier
    than its creation (imported history).
    """
    currency = await org_currency(org_id)
    params: list[Any] = [org_id]
    ids, created = await _events(
        "SELECT array_agg(id ORDER BY id) AS a, array_agg(extract(epoch FROM created_at)::float8"
        " / 86400 ORDER BY id) AS b FROM customer"
        " WHERE organization_id = $1 AND deleted_at IS NULL"
        f"{_subset(customer_ids, params, 'id')}", params,
    )
    params = [org_id, as_of, currency]
    # other currencies at the rate in effect on the order's day; none: NaN (unconverted)
    amount = rates.converted("o.amount", "o.currency", rates.order_day("o.placed_at"), "$1",
                             "$3")
    o_cust, o_day, o_amount = await _events(
        "SELECT array_agg(customer_id) AS a,"
        " array_agg(extract(epoch FROM placed_at)::float8 / 86400) AS b,"
        f" array_agg(({amount})::float8) AS c FROM customer_order o"
        " WHERE organization_id = $1 AND status = 'PAID' AND placed_at < $2"
        f"{_subset(customer_ids, params, 'customer_id')}", params,
    )
    params = [org_id, as_of, list(CHANNELS)]
    i_cust, i_day, i_kind, i_in = await _events(
        "SELECT array_agg(customer_id) AS a,"
        " array_agg(extract(epoch FROM occurred_at)::float8 / 86400) AS b,"
        " array_agg(array_position($3::text[], channel::text) - 1) AS c,"
        " array_agg(direction = 'INBOUND') AS d FROM interaction"
        " WHERE organization_id = $1 AND occurred_at < $2"
        f"{_subset(customer_ids, params, 'customer_id')}", params,
    )
    id_array = np.asarray(ids, dtype=np.int64)
    orders, first_order = _indexed(id_array, o_cust, o_day, amount=o_amount)
    interactions, first_touch = _indexed(id_array, i_cust, i_day, kind=i_kind, inbound=i_in)
    created_day = np.minimum(np.asarray(created, dtype=np.float64), first_order)
    email = await load_email_events(org_id=org_id, as_of=as_of, customer_ids=customer_ids)
    emails = _indexed(id_array, email[0], email[1], kind=email[2])[0] if email else None
    custom = await custom_field_history.load(org_id=org_id, as_of=as_of, ids=id_array,
                                             customer_ids=customer_ids)
    return History(
        customer_ids=id_array, created_day=np.minimum(created_day, first_touch), orders=orders,
        interactions=interactions, emails=emails, currency=currency,
        unconverted_orders=sum(1 for value in o_amount if value is None), custom=custom,
    )


async def load_sales(*, org_id: int, as_of: datetime) -> History:
    """The organization's PAID sales before ``as_of`` summed per day (one event per day, in its
    currency): what the sales forecast needs, whatever the number of customers."""
    currency = await org_currency(org_id)
    amount = rates.converted("o.amount", "o.currency", rates.order_day("o.placed_at"), "$1",
                             "$3")
    days, totals, unconverted = await _events(
        "SELECT array_agg(d ORDER BY d) AS a, array_agg(total ORDER BY d) AS b,"
        " sum(missing)::bigint AS c FROM (SELECT floor(extract(epoch FROM placed_at)::float8"
        f" / 86400) AS d, sum(({amount})::float8) AS total,"
        f" count(*) FILTER (WHERE ({amount}) IS NULL) AS missing FROM customer_order o"
        " WHERE organization_id = $1 AND status = 'PAID' AND placed_at < $2 GROUP BY 1) s",
        [org_id, as_of, currency],
    )
    day = np.asarray(days, dtype=np.float64)
    orders = Events(customer=np.zeros(len(day), np.int64), day=day,
                    amount=np.asarray([np.nan if t is None else t for t in totals], np.float64))
    return History(customer_ids=np.zeros(1, np.int64), created_day=np.full(1, day.min(initial=0)),
                   orders=orders, interactions=empty_events(), currency=currency,
                   unconverted_orders=int(unconverted or 0))


def _indexed(
    ids: np.ndarray[Any, Any], customers: list[int], days: list[float], **columns: Any
) -> tuple[Events, np.ndarray[Any, Any]]:
    """Events keyed by position in ``ids`` (events of unknown customers dropped), and each
    customer's first event day."""
    cust = np.asarray(customers, dtype=np.int64)
    if len(ids):
        pos = np.searchsorted(ids, cust)
        known = ids[np.minimum(pos, len(ids) - 1)] == cust
    else:
        pos, known = np.zeros(len(cust), np.int64), np.zeros(len(cust), bool)
    day = np.asarray(days, dtype=np.float64)[known]
    index = pos[known].astype(np.int64)
    first = np.full(len(ids), np.inf)
    np.minimum.at(first, index, day)
    extra: dict[str, Any] = {}
    if "amount" in columns:
        extra["amount"] = np.asarray(columns["amount"], dtype=np.float64)[known]
    if "kind" in columns:
        extra["kind"] = np.asarray(columns["kind"], dtype=np.int64)[known]
    if "inbound" in columns:
        extra["inbound"] = np.asarray(columns["inbound"], dtype=bool)[known]
    return Events(customer=index, day=day, **extra), first


async def load_order_lines(
    *, org_id: int, as_of: datetime, customer_ids: Sequence[int] | None = None
) -> tuple[Lines, np.ndarray, np.ndarray]:
    """The PAID order lines of live customers (of these) before ``as_of`` that name a
    catalogue product, with the catalogue's product ids (sorted) and whether each is active."""
    params: list[Any] = [org_id, as_of]
    customers, products, days, quantities = await _events(
        "SELECT array_agg(o.customer_id) AS a, array_agg(p.id) AS b,"
        " array_agg(extract(epoch FROM o.placed_at)::float8 / 86400) AS c,"
        " array_agg(coalesce((li->>'quantity')::float8, 1)) AS d"
        " FROM customer_order o JOIN customer c ON c.id = o.customer_id AND c.deleted_at IS NULL"
        " CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(o.line_items) = 'array'"
        "   THEN o.line_items ELSE '[]'::jsonb END) li"
        " JOIN product p ON p.organization_id = o.organization_id"
        "   AND lower(p.sku) = lower(btrim(li->>'sku'))"
        " WHERE o.organization_id = $1 AND o.status = 'PAID' AND o.placed_at < $2"
        f"{_subset(customer_ids, params, 'o.customer_id')}", params,
    )
    ids, active = await _events(
        "SELECT array_agg(id ORDER BY id) AS a, array_agg(active ORDER BY id) AS b FROM product"
        " WHERE organization_id = $1", [org_id],
    )
    lines = Lines(np.asarray(customers, np.int64), np.asarray(products, np.int64),
                  np.asarray(days, np.float64), np.asarray(quantities, np.float64))
    return lines, np.asarray(ids, np.int64), np.asarray(active, bool)


async def load_segments(
    *, org_id: int, customer_ids: Sequence[int] | None = None
) -> dict[int, str]:
    """Each scored customer's (of these) segment, as last scored."""
    params: list[Any] = [org_id]
    customers, segments = await _events(
        "SELECT array_agg(customer_id) AS a, array_agg(segment) AS b FROM prediction"
        " WHERE organization_id = $1 AND segment IS NOT NULL"
        f"{_subset(customer_ids, params, 'customer_id')}", params,
    )
    return dict(zip((int(c) for c in customers), segments, strict=True))
