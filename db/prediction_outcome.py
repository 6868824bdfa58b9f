"""The yes/no outcomes a custom prediction can be about, and when each one happened.

An outcome is a small JSON object, ``{"kind": ..., <its parameters>}``. Each kind says how to
check its parameters, how to say it in words, and which SQL finds its events: one row per time
a customer met it, ``(customer_id, day)`` with ``day`` in days since the Unix epoch. A customer
has the outcome within a horizon after a cutoff when one of its events falls in that window.

A new kind (a custom field type, a campaign reply...) is one more ``OutcomeKind`` in ``KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import ErrorCode, FieldError, InputError
from db.enums import LifecycleStage, OrderStatus

Outcome = dict[str, Any]
DAY = "extract(epoch FROM {})::float8 / 86400"
MAX_TEXT = 100


def _text(outcome: Outcome, key: str, path: list[str]) -> str:
    value = outcome.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise InputError([FieldError(ErrorCode.BAD_USER_INPUT, (*path, key),
                                     f"{key} is required (1 to {MAX_TEXT} characters)")])
    return value.strip()


def _choice(outcome: Outcome, key: str, path: list[str], allowed: list[str]) -> str:
    value = outcome.get(key)
    if value not in allowed:
        raise InputError([FieldError(ErrorCode.BAD_USER_INPUT, (*path, key),
                                     f"{key} must be one of {', '.join(allowed)}")])
    return str(value)


@dataclass(frozen=True)
class OutcomeKind:
    """One kind of outcome: its cleaner, its words and its events' SQL."""

    clean: Callable[[Outcome, list[str]], Outcome]
    words: Callable[[Outcome], str]
    # (sql, params) over $1 = organization, $2 = as-of; more parameters follow
    events: Callable[[Outcome, datetime], tuple[str, list[Any]]]


def _order_status(o: Outcome, path: list[str]) -> Outcome:
    statuses = [s.value for s in OrderStatus if s != OrderStatus.PAID]
    return {"kind": "ORDER_STATUS", "status": _choice(o, "status", path, statuses)}


def _order_status_events(o: Outcome, as_of: datetime) -> tuple[str, list[Any]]:
    # an order placed then that has this status now (orders keep no status history)
    return (f"SELECT customer_id, {DAY.format('placed_at')} AS day FROM customer_order"
            " WHERE organization_id = $1 AND placed_at < $2 AND status = $3", [o["status"]])


def _unpaid(o: Outcome, path: list[str]) -> Outcome:
    days = o.get("days")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
        raise InputError([FieldError(ErrorCode.BAD_USER_INPUT, (*path, "days"),
                                     "days must be between 1 and 365")])
    return {"kind": "ORDER_UNPAID", "days": days}


def _unpaid_events(o: Outcome, as_of: datetime) -> tuple[str, list[Any]]:
    # still PENDING (or CANCELLED unpaid) when ``days`` had passed: only orders that old count
    return (f"SELECT customer_id, {DAY.format('placed_at')} AS day FROM customer_order"
            " WHERE organization_id = $1 AND placed_at < $2"
            " AND status IN ('PENDING', 'CANCELLED')"
            " AND placed_at + make_interval(days => $3) <= now()", [o["days"]])


def _changes(field: str, value: str, *, removed: bool = False) -> tuple[str, list[Any]]:
    return (f"SELECT customer_id, {DAY.format('changed_at')} AS day FROM customer_change"
            " WHERE organization_id = $1 AND changed_at < $2 AND field = $3 AND value = $4"
            f" AND {'' if removed else 'NOT '}removed", [field, value])


def _tag(o: Outcome, path: list[str]) -> Outcome:
    return {"kind": "TAG_ADDED", "tag": _text(o, "tag", path)}


def _stage(o: Outcome, path: list[str]) -> Outcome:
    return {"kind": "STAGE_REACHED",
            "stage": _choice(o, "stage", path, [s.value for s in LifecycleStage])}


def _deal_stage(o: Outcome, path: list[str]) -> Outcome:
    return {"kind": "DEAL_STAGE_REACHED", "stage": _text(o, "stage", path)}


def _deal_stage_events(o: Outcome, as_of: datetime) -> tuple[str, list[Any]]:
    # every person on the deal reached it (stage names compare case-insensitively)
    return (f"SELECT p.customer_id, {DAY.format('s.changed_at')} AS day"
            " FROM deal_stage_change s JOIN deal_person p ON p.deal_id = s.deal_id"
            " WHERE s.organization_id = $1 AND s.changed_at < $2"
            " AND lower(s.to_stage_name) = lower($3)", [o["stage"]])


def _custom(o: Outcome, path: list[str]) -> Outcome:
    return {"kind": "CUSTOM_FIELD", "field": _text(o, "field", path),
            "value": _text(o, "value", path)}


KINDS: dict[str, OutcomeKind] = {
    "ORDER_STATUS": OutcomeKind(
        _order_status, lambda o: f"place an order that ends up {o['status'].lower()}",
        _order_status_events),
    "ORDER_UNPAID": OutcomeKind(
        _unpaid, lambda o: f"place an order still unpaid {o['days']} days later",
        _unpaid_events),
    "TAG_ADDED": OutcomeKind(
        _tag, lambda o: f"get the tag \"{o['tag']}\"",
        lambda o, _: _changes("tag", o["tag"])),
    "STAGE_REACHED": OutcomeKind(
        _stage, lambda o: f"reach the stage {o['stage']}",
        lambda o, _: _changes("stage", o["stage"])),
    "DEAL_STAGE_REACHED": OutcomeKind(
        _deal_stage, lambda o: f"are on a deal that reaches the stage \"{o['stage']}\"",
        _deal_stage_events),
    "CUSTOM_FIELD": OutcomeKind(
        _custom, lambda o: f"get {o['field']} = \"{o['value']}\"",
        lambda o, _: _changes("custom:" + o["field"], o["value"])),
}


def clean(outcome: Outcome, path: list[str]) -> Outcome:
    """The outcome with only its kind's parameters, checked (InputError at ``path``)."""
    kind = outcome.get("kind")
    if kind not in KINDS:
        raise InputError([FieldError(ErrorCode.BAD_USER_INPUT, (*path, "kind"),
                                     f"kind must be one of {', '.join(KINDS)}")])
    return KINDS[kind].clean(outcome, path)


def words(outcome: Outcome) -> str:
    """The outcome in words, after "the chance that they" (``get the tag "vip"``)."""
    return KINDS[outcome["kind"]].words(outcome)


def events_sql(outcome: Outcome, as_of: datetime) -> tuple[str, list[Any]]:
    """SQL for the outcome's events before ``as_of`` and its parameters after $1 and $2."""
    return KINDS[outcome["kind"]].events(outcome, as_of)
