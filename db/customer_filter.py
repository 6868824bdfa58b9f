"""Customer filter trees compiled to SQL over alias ``t``: relation facts become indexed subqueries.

Every condition compiles to a boolean that is never NULL for a set condition, so ``not`` is the
exact complement of its operand (SQL's three-valued logic would otherwise drop rows with NULLs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.errors import AppError, ErrorCode
from db import custom_field_values as custom_values
from db import deal_facts, search
from db.custom_field import ObjectType
from db.deal_facts import DealFacts
from db.enums import Channel, Direction, LifecycleStage, OrderStatus, Role
from db.sql import Params, escape_like

MAX_DEPTH = 6
MAX_NODES = 60
# the organization's own currency, when an amount condition names none
ORG_CURRENCY = "(SELECT g.currency FROM organization g WHERE g.id = t.organization_id)"


@dataclass(frozen=True)
class Range:
    """Inclusive bounds; either may be open."""

    gte: Decimal | int | None = None
    lte: Decimal | int | None = None


@dataclass(frozen=True)
class OrderFacts:
    """Conditions on a customer's orders; only orders in ``statuses`` and the period count."""

    statuses: Sequence[OrderStatus] = (OrderStatus.PAID,)
    since: datetime | None = None
    until: datetime | None = None
    currency: str | None = None
    total_spent: Range | None = None
    has_order_over: Decimal | None = None
    count: Range | None = None
    last_order_before: datetime | None = None
    last_order_after: datetime | None = None


@dataclass(frozen=True)
class InteractionFacts:
    """Conditions on a customer's interactions; only those on ``channels``/``direction`` count."""

    channels: Sequence[Channel] = ()
    direction: Direction | None = None
    since: datetime | None = None
    until: datetime | None = None
    count: Range | None = None
    none_within_days: int | None = None
    no_inbound_within_days: int | None = None
    last_before: datetime | None = None
    last_after: datetime | None = None


@dataclass(frozen=True)
class OwnerFacts:
    """Conditions on the customer's owner; an unowned customer matches none."""

    email: str | None = None
    role: Role | None = None
    name: str | None = None


@dataclass(frozen=True)
class ScoreCondition:
    """A custom prediction's score (by name) in a range or bands; unscored customers match
    none."""

    name: str
    min: float | None = None
    max: float | None = None
    bands: Sequence[str] = ()


@dataclass(frozen=True)
class CustomerFilter:
    """Which customers to list; every condition must hold."""

    search: str | None = None
    tags: Sequence[str] = ()
    stages: Sequence[LifecycleStage] = ()
    owner_ids: Sequence[int] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    deleted: bool = False
    segments: Sequence[str] = ()
    min_churn_risk: float | None = None
    max_churn_risk: float | None = None
    min_expected_revenue: float | None = None
    scores: Sequence[ScoreCondition] = ()
    countries: Sequence[str] = ()
    orders: OrderFacts | None = None
    interactions: InteractionFacts | None = None
    owner: OwnerFacts | None = None
    deals: DealFacts | None = None
    # raw conditions from the API until ``with_custom_fields`` types them (custom_values.Condition)
    custom_fields: Sequence[Any] = ()
    all_of: Sequence[CustomerFilter] = ()
    any_of: Sequence[CustomerFilter] = ()
    not_: CustomerFilter | None = None



async def with_custom_fields(
    org_id: int, f: CustomerFilter, path: str = "filter"
) -> CustomerFilter:
    """``f`` with its custom field conditions (at every level) typed by their definitions."""
    return replace(
        f,
        custom_fields=await custom_values.resolve(
            org_id=org_id, object_type=ObjectType.CUSTOMER, raw=f.custom_fields,
            path=f"{path}.customFields"),
        all_of=[await with_custom_fields(org_id, g, f"{path}.and.{i}")
                for i, g in enumerate(f.all_of)],
        any_of=[await with_custom_fields(org_id, g, f"{path}.or.{i}")
                for i, g in enumerate(f.any_of)],
        not_=await with_custom_fields(org_id, f.not_, f"{path}.not") if f.not_ else None,
    )


def personal_keys(f: CustomerFilter) -> set[str]:
    """The custom field keys ``f`` tests, at every level."""
    keys = {c.key if isinstance(c, custom_values.Condition) else c["key"]
            for c in f.custom_fields}
    for child in (*f.all_of, *f.any_of, *((f.not_,) if f.not_ else ())):
        keys |= personal_keys(child)
    return keys


def conditions(f: CustomerFilter, params: Params, now: datetime | None = None) -> list[str]:
    """SQL conditions over ``t`` (all must hold) for ``f``, without organization or deletion."""
    _check_size(f)
    return _conditions(f, params, now or datetime.now(UTC))


def _check_size(f: CustomerFilter) -> None:
    nodes = 0
    stack = [(f, 1)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH or nodes > MAX_NODES:
            raise AppError(
                ErrorCode.BAD_USER_INPUT,
                f"filter too complex: at most {MAX_DEPTH} levels and {MAX_NODES} filters",
                ["filter"],
            )
        children = [*node.all_of, *node.any_of, *((node.not_,) if node.not_ else ())]
        stack.extend((child, depth + 1) for child in children)


def _conditions(f: CustomerFilter, p: Params, now: datetime) -> list[str]:
    out = _own_columns(f, p)
    if f.orders is not None:
        out.extend(_orders(f.orders, p))
    if f.interactions is not None:
        out.extend(_interactions(f.interactions, p, now))
    if f.owner is not None:
        out.append(_owner(f.owner, p))
    if f.deals is not None:
        out.extend(deal_facts.conditions(f.deals, p))
    out.extend(_group(child, p, now) for child in f.all_of)
    if f.any_of:
        out.append("(" + " OR ".join(_group(child, p, now) for child in f.any_of) + ")")
    if f.not_ is not None:
        out.append(f"({_group(f.not_, p, now)}) IS NOT TRUE")
    return out


def _group(f: CustomerFilter, p: Params, now: datetime) -> str:
    parts = _conditions(f, p, now)
    return "(" + " AND ".join(parts) + ")" if parts else "TRUE"


def _own_columns(f: CustomerFilter, p: Params) -> list[str]:
    out = []
    if f.search is not None and f.search.strip():
        out.append(search.match_words("t.search_text", "t.search_words", f.search, p).condition)
    for cond in f.custom_fields:
        if not isinstance(cond, custom_values.Condition):
            raise TypeError("custom field conditions must be resolved (with_custom_fields)")
        out.extend(custom_values.conditions(cond, p))
    if f.tags:
        out.append(f"t.tags @> {p.add(list(f.tags))}::text[]")
    if f.stages:
        out.append(f"t.stage = ANY({p.add([s.value for s in f.stages])}::text[])")
    if f.owner_ids:
        out.append(f"coalesce(t.owner_id = ANY({p.add(list(f.owner_ids))}::bigint[]), false)")
    if f.created_after is not None:
        out.append(f"t.created_at >= {p.add(f.created_after)}")
    if f.created_before is not None:
        out.append(f"t.created_at < {p.add(f.created_before)}")
    if f.countries:
        out.append(f"coalesce(t.country = ANY({p.add(list(f.countries))}::text[]), false)")
    # score conditions are false (not unknown) for unscored customers
    if f.segments:
        out.append(f"coalesce(t.segment = ANY({p.add(list(f.segments))}::text[]), false)")
    for column, op, value in (
        ("churn_risk", ">=", f.min_churn_risk), ("churn_risk", "<=", f.max_churn_risk),
        ("expected_revenue", ">=", f.min_expected_revenue),
    ):
        if value is not None:
            out.append(f"coalesce(t.{column} {op} {p.add(value)}, false)")
    out.extend(_score(s, p) for s in f.scores)
    return out


def _score(s: ScoreCondition, p: Params) -> str:
    scope = ("SELECT 1 FROM customer_score s JOIN prediction_definition d"
             f" ON d.id = s.definition_id WHERE s.customer_id = t.id AND d.name = {p.add(s.name)}")
    if s.min is not None:
        scope += f" AND s.probability >= {p.add(s.min)}"
    if s.max is not None:
        scope += f" AND s.probability <= {p.add(s.max)}"
    if s.bands:
        scope += f" AND s.band = ANY({p.add(list(s.bands))}::text[])"
    return f"EXISTS ({scope})"


def _bounded(r: Range | None) -> bool:
    return r is not None and (r.gte is not None or r.lte is not None)


def _range(expr: str, r: Range, p: Params) -> list[str]:
    out = []
    if r.gte is not None:
        out.append(f"{expr} >= {p.add(r.gte)}")
    if r.lte is not None:
        out.append(f"{expr} <= {p.add(r.lte)}")
    return out


def _orders(o: OrderFacts, p: Params) -> list[str]:
    if not (_bounded(o.total_spent) or _bounded(o.count)) and (
            o.has_order_over, o.last_order_before, o.last_order_after) == (None,) * 3:
        return []  # nothing to test, and unused parameters would have no type
    scope = (
        "FROM customer_order o WHERE o.customer_id = t.id"
        f" AND o.status = ANY({p.add([s.value for s in o.statuses])}::text[])"
    )
    if o.since is not None:
        scope += f" AND o.placed_at >= {p.add(o.since)}"
    if o.until is not None:
        scope += f" AND o.placed_at < {p.add(o.until)}"
    out = []
    if o.total_spent is not None and _bounded(o.total_spent):
        priced = f"{scope} AND {_currency(o, p)}"
        out.extend(_range(f"coalesce((SELECT sum(o.amount) {priced}), 0)", o.total_spent, p))
    if o.has_order_over is not None:
        out.append(f"EXISTS (SELECT 1 {scope} AND {_currency(o, p)}"
                   f" AND o.amount > {p.add(o.has_order_over)})")
    if o.count is not None:
        out.extend(_range(f"(SELECT count(*) {scope})", o.count, p))
    out.extend(_last(scope, "o.placed_at", o.last_order_before, o.last_order_after, p))
    return out


def _currency(o: OrderFacts, p: Params) -> str:
    return f"o.currency = {p.add(o.currency) if o.currency else ORG_CURRENCY}"


def _last(
    scope: str, column: str, before: datetime | None, after: datetime | None, p: Params
) -> list[str]:
    """The latest counted row is before/at-or-after a time (no rows: neither holds)."""
    out = []
    if before is not None:
        out.append(f"(EXISTS (SELECT 1 {scope})"
                   f" AND NOT EXISTS (SELECT 1 {scope} AND {column} >= {p.add(before)}))")
    if after is not None:
        out.append(f"EXISTS (SELECT 1 {scope} AND {column} >= {p.add(after)})")
    return out


def _interactions(i: InteractionFacts, p: Params, now: datetime) -> list[str]:
    if not _bounded(i.count) and (i.none_within_days, i.no_inbound_within_days, i.last_before,
                                  i.last_after) == (None,) * 4:
        return []
    scope = "FROM interaction i WHERE i.customer_id = t.id"
    if i.channels:
        scope += f" AND i.channel = ANY({p.add([c.value for c in i.channels])}::text[])"
    if i.direction is not None:
        scope += f" AND i.direction = {p.add(i.direction.value)}"
    if i.since is not None:
        scope += f" AND i.occurred_at >= {p.add(i.since)}"
    if i.until is not None:
        scope += f" AND i.occurred_at < {p.add(i.until)}"
    out = []
    if i.count is not None:
        out.extend(_range(f"(SELECT count(*) {scope})", i.count, p))
    if i.none_within_days is not None:
        cutoff = p.add(now - timedelta(days=i.none_within_days))
        out.append(f"NOT EXISTS (SELECT 1 {scope} AND i.occurred_at >= {cutoff})")
    if i.no_inbound_within_days is not None:
        cutoff = p.add(now - timedelta(days=i.no_inbound_within_days))
        out.append(f"NOT EXISTS (SELECT 1 {scope} AND i.direction = 'INBOUND'"
                   f" AND i.occurred_at >= {cutoff})")
    out.extend(_last(scope, "i.occurred_at", i.last_before, i.last_after, p))
    return out


def _owner(o: OwnerFacts, p: Params) -> str:
    where = ["u.id = t.owner_id"]
    if o.email is not None:
        where.append(f"lower(u.email) = {p.add(o.email.strip().lower())}")
    if o.role is not None:
        where.append(f"u.role = {p.add(o.role.value)}")
    if o.name is not None:
        where.append(f"lower(u.name) LIKE {p.add('%' + escape_like(o.name.lower()) + '%')}")
    return f"EXISTS (SELECT 1 FROM app_user u WHERE {' AND '.join(where)})"
