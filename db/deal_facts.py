"""Conditions on the deals a customer takes part in (``deal_person``), as SQL over alias ``t``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from db.sales_enums import DealStatus
from db.sql import Params


@dataclass(frozen=True)
class DealFacts:
    """Only live deals with one of ``statuses`` (and in the pipeline/stages given) count."""

    statuses: Sequence[DealStatus] = (DealStatus.OPEN,)
    pipeline_id: int | None = None
    stage_ids: Sequence[int] = ()
    currency: str | None = None
    amount_over: Decimal | None = None
    expected_close_after: date | None = None
    expected_close_before: date | None = None
    min_count: int | None = None
    max_count: int | None = None


def conditions(d: DealFacts, p: Params) -> list[str]:
    """Has a counted deal (over an amount, when given); or how many count, when bounded."""
    scope = (
        "FROM deal_person x JOIN deal d ON d.id = x.deal_id WHERE x.customer_id = t.id"
        " AND d.deleted_at IS NULL"
        f" AND d.status = ANY({p.add([s.value for s in d.statuses])}::text[])"
    )
    if d.pipeline_id is not None:
        scope += f" AND d.pipeline_id = {p.add(d.pipeline_id)}"
    if d.stage_ids:
        scope += f" AND d.stage_id = ANY({p.add(list(d.stage_ids))}::bigint[])"
    if d.currency is not None:
        scope += f" AND d.currency = {p.add(d.currency)}"
    if d.amount_over is not None:
        scope += f" AND d.amount > {p.add(d.amount_over)}"
    if d.expected_close_after is not None:
        scope += f" AND d.expected_close_on >= {p.add(d.expected_close_after)}"
    if d.expected_close_before is not None:
        scope += f" AND d.expected_close_on < {p.add(d.expected_close_before)}"
    if d.min_count is None and d.max_count is None:
        return [f"EXISTS (SELECT 1 {scope})"]
    out = []
    if d.min_count is not None:
        out.append(f"(SELECT count(*) {scope}) >= {p.add(d.min_count)}")
    if d.max_count is not None:
        out.append(f"(SELECT count(*) {scope}) <= {p.add(d.max_count)}")
    return out
