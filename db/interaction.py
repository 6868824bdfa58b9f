"""Interactions on every channel: filters, keyset pages and validated writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from core.errors import ErrorCode
from db import customer as customers
from db import validation
from db.enums import Channel, Direction
from db.models import Interaction
from db.pagination import Sort, Source
from db.sql import Params, fetch, row_of

COLUMNS = (
    "t.id, t.organization_id, t.customer_id, t.channel, t.direction, t.subject, t.body,"
    " t.occurred_at, t.created_by_id, t.metadata, t.created_at, t.deal_id, t.company_id"
)
SORTS = {
    s.name: s
    for s in (
        Sort("OCCURRED_AT_DESC", "t.occurred_at", "datetime", descending=True),
        Sort("OCCURRED_AT_ASC", "t.occurred_at", "datetime", descending=False),
    )
}
MAX_BODY = 100_000


@dataclass(frozen=True)
class InteractionFilter:
    """Which interactions to list; every condition must hold."""

    customer_ids: Sequence[int] = ()
    channels: Sequence[Channel] = ()
    direction: Direction | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    deal_id: int | None = None
    company_id: int | None = None


def source(org_id: int, f: InteractionFilter) -> Source:
    """The organization's interactions matching ``f``."""
    params = Params()
    where = [f"t.organization_id = {params.add(org_id)}"]
    if f.customer_ids:
        where.append(f"t.customer_id = ANY({params.add(list(f.customer_ids))}::bigint[])")
    if f.channels:
        where.append(f"t.channel = ANY({params.add([c.value for c in f.channels])}::text[])")
    if f.direction is not None:
        where.append(f"t.direction = {params.add(f.direction.value)}")
    if f.occurred_after is not None:
        where.append(f"t.occurred_at >= {params.add(f.occurred_after)}")
    if f.occurred_before is not None:
        where.append(f"t.occurred_at < {params.add(f.occurred_before)}")
    for column in ("deal_id", "company_id"):
        if getattr(f, column) is not None:
            where.append(f"t.{column} = {params.add(getattr(f, column))}")
    return Source("interaction", COLUMNS, " AND ".join(where), params)


async def get_many(*, org_id: int, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The organization's interactions with these ids, keyed by id."""
    rows = await fetch(
        f"SELECT {COLUMNS} FROM interaction t"
        " WHERE t.organization_id = $1 AND t.id = ANY($2::bigint[])",
        [org_id, list(ids)],
    )
    return {row["id"]: row for row in rows}


async def create(*, org_id: int, user_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    """Record an interaction with a live customer of the organization."""
    c = validation.Cleaner()
    values = {
        "customer_id": data["customer_id"],
        "channel": data["channel"],
        "direction": data["direction"],
        "subject": c.text("subject", data.get("subject"), 500),
        "body": c.text("body", data.get("body"), MAX_BODY, multiline=True) or "",
        "occurred_at": data.get("occurred_at") or datetime.now(UTC),
        "metadata": c.apply("metadata", data.get("metadata") or {}, validation.json_object),
        "created_by_id": user_id,
        "deal_id": data.get("deal_id"),
        "company_id": data.get("company_id"),
    }
    async with in_transaction() as conn:
        if not await customers.hold_live(
            org_id=org_id, customer_id=data["customer_id"], using=conn
        ):
            c.fail("customerId", "customer not found", ErrorCode.NOT_FOUND)
        for column, path in (("deal_id", "dealId"), ("company_id", "companyId")):
            if values[column] is not None and not await fetch(
                f"SELECT 1 FROM {column[:-3]} WHERE id = $1 AND organization_id = $2"
                " AND deleted_at IS NULL FOR SHARE", [values[column], org_id], conn,
            ):
                c.fail(path, f"{column[:-3]} not found", ErrorCode.NOT_FOUND)
        c.raise_if_any()
        interaction = await Interaction.create(using_db=conn, organization_id=org_id, **values)
    return row_of(interaction)
