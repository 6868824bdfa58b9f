"""Generated customers with orders, interactions, owners and scores, plus a plain Python
evaluation of customer filters over them (the reference the SQL compiler is checked against)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from db.customer_filter import CustomerFilter, InteractionFacts, OrderFacts, OwnerFacts, Range
from db.enums import Channel, Direction, LifecycleStage, OrderStatus, Role
from db.models import Organization
from db.prediction_models import Prediction
from db.sql import client
from tests.factories import make_customer, make_interaction, make_order, make_user

TAGS = ("vip", "b2b", "eu")
COUNTRIES = ("DE", "FR", "US")
SEGMENTS = ("loyal", "at_risk")
CURRENCIES = ("EUR", "USD")
NAMES = ("Anna Smith", "Bob Jones", "Carla Smithson", "Dieter Acme", "Eve Jonas")
# every timestamp sits half a day off a whole-day boundary, so day-granular filters never tie
DAYS = (0, 3, 10, 30, 90, 200, 400)


@dataclass
class Person:
    """One customer as plain data."""

    id: int
    name: str
    email: str
    stage: LifecycleStage
    tags: set[str]
    country: str | None
    owner: dict[str, Any] | None
    created_at: datetime
    segment: str | None = None
    churn_risk: float | None = None
    expected_revenue: float | None = None
    orders: list[dict[str, Any]] = field(default_factory=list)
    interactions: list[dict[str, Any]] = field(default_factory=list)


class World:
    """The generated organization (not a dataclass: Hypothesis would print it field by field)."""

    def __init__(self, org: Organization, now: datetime, people: list[Person]) -> None:
        self.org, self.now, self.people = org, now, people

    def __repr__(self) -> str:
        return f"World(org={self.org.id}, customers={len(self.people)})"


def ago(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days, hours=12)


async def build_world(org: Organization, rnd: random.Random, size: int = 40) -> World:
    """``size`` customers of ``org`` with random relations, and the same facts as plain data."""
    now = datetime.now(UTC)
    owners = []
    for name, role in (("Olga Owner", Role.AGENT), ("Paul Manager", Role.MANAGER),
                       ("Quinn Owner", Role.AGENT)):
        user = await make_user(org, role=role, name=name)
        owners.append({"id": user.id, "email": user.email, "role": role, "name": name})
    people = [await _person(org, rnd, now, owners) for _ in range(size)]
    deleted = await make_customer(org)
    await client().execute_query(
        "UPDATE customer SET deleted_at = now() WHERE id = $1", [deleted.id]
    )
    return World(org, now, people)


async def _person(
    org: Organization, rnd: random.Random, now: datetime, owners: list[dict[str, Any]]
) -> Person:
    owner = rnd.choice([None, *owners])
    customer = await make_customer(
        org, name=rnd.choice(NAMES), stage=rnd.choice(list(LifecycleStage)),
        tags=rnd.sample(TAGS, rnd.randint(0, 2)), country=rnd.choice([None, *COUNTRIES]),
        owner_id=owner["id"] if owner else None,
    )
    created = ago(now, rnd.choice(DAYS) + 1)
    await client().execute_query(
        "UPDATE customer SET created_at = $1 WHERE id = $2", [created, customer.id]
    )
    p = Person(
        id=customer.id, name=customer.name, email=customer.email or "",
        stage=customer.stage, tags=set(customer.tags), country=customer.country,
        owner=owner, created_at=created,
    )
    for _ in range(rnd.choice((0, 0, 1, 2, 4))):
        order = {
            "amount": Decimal(rnd.choice((20, 50, 100, 150, 400))),
            "currency": rnd.choice(CURRENCIES), "status": rnd.choice(list(OrderStatus)),
            "placed_at": ago(now, rnd.choice(DAYS) + rnd.randint(0, 5)),
        }
        await make_order(customer, **order)
        p.orders.append(order)
    for _ in range(rnd.choice((0, 1, 2, 4))):
        inter = {
            "channel": rnd.choice((Channel.EMAIL, Channel.PHONE, Channel.MEETING)),
            "direction": rnd.choice(list(Direction)),
            "occurred_at": ago(now, rnd.choice(DAYS) + rnd.randint(0, 5)),
        }
        await make_interaction(customer, **inter)
        p.interactions.append(inter)
    if rnd.random() < 0.6:
        p.segment = rnd.choice(SEGMENTS)
        p.churn_risk = rnd.choice((0.1, 0.4, 0.7, 0.9))
        p.expected_revenue = rnd.choice((0.0, 80.0, 500.0))
        await Prediction.create(
            organization_id=org.id, customer_id=customer.id, churn_risk=p.churn_risk,
            expected_revenue=p.expected_revenue, segment=p.segment, model_version="test",
            as_of=now, horizon_days=90, scored_at=now,
        )
    return p


def matches(p: Person, f: CustomerFilter, now: datetime, currency: str) -> bool:
    """Whether ``p`` satisfies ``f`` (organization and deletion aside), in plain Python."""
    return (
        _own(p, f)
        and (f.orders is None or _orders(p, f.orders, currency))
        and (f.interactions is None or _interactions(p, f.interactions, now))
        and (f.owner is None or _owner(p, f.owner))
        and all(matches(p, c, now, currency) for c in f.all_of)
        and (not f.any_of or any(matches(p, c, now, currency) for c in f.any_of))
        and (f.not_ is None or not matches(p, f.not_, now, currency))
    )


def _own(p: Person, f: CustomerFilter) -> bool:
    text = f"{p.name} {p.email}  ".lower()
    checks = [
        f.search is None or f.search.strip().lower() in text,
        set(f.tags) <= p.tags,
        not f.stages or p.stage in f.stages,
        not f.owner_ids or (p.owner is not None and p.owner["id"] in f.owner_ids),
        f.created_after is None or p.created_at >= f.created_after,
        f.created_before is None or p.created_at < f.created_before,
        not f.countries or p.country in f.countries,
        not f.segments or p.segment in f.segments,
        f.min_churn_risk is None or (p.churn_risk is not None
                                     and p.churn_risk >= f.min_churn_risk),
        f.max_churn_risk is None or (p.churn_risk is not None
                                     and p.churn_risk <= f.max_churn_risk),
        f.min_expected_revenue is None or (p.expected_revenue is not None
                                           and p.expected_revenue >= f.min_expected_revenue),
    ]
    return all(checks)


def _in(value: Any, r: Range) -> bool:
    return (r.gte is None or value >= r.gte) and (r.lte is None or value <= r.lte)


def _last(times: list[datetime], before: datetime | None, after: datetime | None) -> bool:
    latest = max(times, default=None)
    return (before is None or (latest is not None and latest < before)) and (
        after is None or (latest is not None and latest >= after)
    )


def _orders(p: Person, o: OrderFacts, org_currency: str) -> bool:
    counted = [
        x for x in p.orders
        if x["status"] in o.statuses
        and (o.since is None or x["placed_at"] >= o.since)
        and (o.until is None or x["placed_at"] < o.until)
    ]
    currency = o.currency or org_currency
    priced = [x["amount"] for x in counted if x["currency"] == currency]
    return (
        (o.total_spent is None or _in(sum(priced, Decimal(0)), o.total_spent))
        and (o.has_order_over is None or any(a > o.has_order_over for a in priced))
        and (o.count is None or _in(len(counted), o.count))
        and _last([x["placed_at"] for x in counted], o.last_order_before, o.last_order_after)
    )


def _interactions(p: Person, i: InteractionFacts, now: datetime) -> bool:
    counted = [
        x for x in p.interactions
        if (not i.channels or x["channel"] in i.channels)
        and (i.direction is None or x["direction"] == i.direction)
        and (i.since is None or x["occurred_at"] >= i.since)
        and (i.until is None or x["occurred_at"] < i.until)
    ]

    def none_since(days: int | None, inbound_only: bool) -> bool:
        if days is None:
            return True
        cutoff = now - timedelta(days=days)
        return not any(
            x["occurred_at"] >= cutoff
            and (not inbound_only or x["direction"] == Direction.INBOUND)
            for x in counted
        )

    return (
        (i.count is None or _in(len(counted), i.count))
        and none_since(i.none_within_days, False)
        and none_since(i.no_inbound_within_days, True)
        and _last([x["occurred_at"] for x in counted], i.last_before, i.last_after)
    )


def _owner(p: Person, o: OwnerFacts) -> bool:
    if p.owner is None:
        return False
    return (
        (o.email is None or p.owner["email"].lower() == o.email.lower())
        and (o.role is None or p.owner["role"] == o.role)
        and (o.name is None or o.name.lower() in p.owner["name"].lower())
    )
