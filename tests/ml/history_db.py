"""Write a simulated history into the database for one organization (tests only)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from db.models import Organization
from db.sql import fetch
from ml.features import CHANNELS, from_day
from tests.ml.simulate import Simulation


async def insert_simulation(org: Organization, sim: Simulation, currency: str = "EUR") -> list[int]:
    """Customers, PAID orders (some in USD) and interactions of ``sim``; returns customer ids."""
    h = sim.history
    n = h.size
    created = [from_day(float(d)) for d in h.created_day]
    rows = await fetch(
        "INSERT INTO customer (organization_id, kind, name, stage, tags, custom_fields,"
        " email_opt_out, created_at, updated_at)"
        " SELECT $1, 'PERSON', 'Sim ' || n, 'CUSTOMER', '{}', '{}', false, c, $3"
        " FROM unnest($2::timestamptz[]) WITH ORDINALITY AS u(c, n) ORDER BY n RETURNING id",
        [org.id, created, datetime.now(UTC)],
    )
    ids = np.array([r["id"] for r in rows], dtype=np.int64)
    assert len(ids) == n
    o = h.orders
    assert o.amount is not None
    amounts = np.where(np.isnan(o.amount), 50.0, o.amount)
    currencies = np.where(np.isnan(o.amount), "USD", currency)
    await fetch(
        "INSERT INTO customer_order (organization_id, customer_id, amount, currency, status,"
        " placed_at, line_items, created_at, updated_at)"
        " SELECT $1, c, a, cur, 'PAID', p, '[]', $6, $6"
        " FROM unnest($2::bigint[], $3::numeric[], $4::text[], $5::timestamptz[])"
        " AS u(c, a, cur, p)",
        [org.id, ids[o.customer].tolist(), [round(float(a), 2) for a in amounts],
         currencies.tolist(), [from_day(float(d)) for d in o.day], datetime.now(UTC)],
    )
    i = h.interactions
    assert i.kind is not None
    assert i.inbound is not None
    await fetch(
        "INSERT INTO interaction (organization_id, customer_id, channel, direction, body,"
        " occurred_at, metadata, created_at)"
        " SELECT $1, c, ch, d, '', t, '{}', $6"
        " FROM unnest($2::bigint[], $3::text[], $4::text[], $5::timestamptz[]) AS u(c, ch, d, t)",
        [org.id, ids[i.customer].tolist(), [CHANNELS[k] for k in i.kind],
         ["INBOUND" if x else "OUTBOUND" for x in i.inbound], [from_day(float(d)) for d in i.day],
         datetime.now(UTC)],
    )
    return [int(x) for x in ids]
