"""How demo customers behave: buying rhythms, lifetimes, fading engagement and seasons.

Each customer gets a hidden life story drawn here, and the seeder writes what that story leaves
behind (orders, interactions, a stage a salesperson would have set). The structure is the one
purchase-history models assume (Fader, Hardie & Lee 2005): each customer buys at their own
rate while "alive" and drops out at a hidden moment; engagement fades in the weeks before they
go; December sells more than February. So the predictions on demo data have something to find:
recency against a customer's own rhythm, fading contact, spend levels.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

PERSONAS = ("LOYAL", "REGULAR", "OCCASIONAL", "ONE_OFF", "LEAD")
PERSONA_WEIGHTS = (0.12, 0.30, 0.25, 0.18, 0.15)
# mean days between orders while alive, and mean lifetime in days, per persona
RHYTHM_DAYS = {"LOYAL": 30.0, "REGULAR": 75.0, "OCCASIONAL": 160.0, "ONE_OFF": 0.0, "LEAD": 0.0}
LIFETIME_DAYS = {"LOYAL": 1200.0, "REGULAR": 500.0, "OCCASIONAL": 350.0, "ONE_OFF": 0.0,
                 "LEAD": 0.0}
FADE_DAYS = 75.0  # contact thins out over this many days before a customer leaves
SEASON_PEAK_DAY = 340  # early December
SEASON_AMPLITUDE = 0.35


@dataclass
class Story:
    """One customer's hidden behaviour and the events it produces."""

    persona: str
    created: datetime
    leaves: datetime | None  # None: still a customer at the end of the history
    order_times: list[datetime] = field(default_factory=list)
    contact_times: list[tuple[datetime, bool]] = field(default_factory=list)  # (when, inbound)
    preferred_channel: str = "EMAIL"


def season(at: datetime) -> float:
    """The demand multiplier of the day of the year (mean 1)."""
    day = at.timetuple().tm_yday
    return 1.0 + SEASON_AMPLITUDE * math.cos(2 * math.pi * (day - SEASON_PEAK_DAY) / 365.0)


def _poisson_times(
    rng: random.Random, start: datetime, end: datetime, rate_per_day: float,
) -> list[datetime]:
    """Event times of a Poisson process on [start, end), thinned by the season."""
    times: list[datetime] = []
    if rate_per_day <= 0 or end <= start:
        return times
    peak = rate_per_day * (1 + SEASON_AMPLITUDE)
    at = start
    while True:
        at += timedelta(days=rng.expovariate(peak))
        if at >= end:
            return times
        if rng.random() * peak < rate_per_day * season(at):
            times.append(at)


def story(
    rng: random.Random, now: datetime, history_days: int, orders_scale: float,
    contacts_scale: float, channels: list[str],
) -> Story:
    """A customer's life: when they came, how they buy and talk, whether and when they left."""
    persona = rng.choices(PERSONAS, PERSONA_WEIGHTS)[0]
    created = now - timedelta(days=rng.random() * history_days)
    s = Story(persona, created, None, preferred_channel=rng.choice(channels))
    if persona == "LEAD":
        s.contact_times = [(t, rng.random() < 0.3) for t in _poisson_times(
            rng, created, now, contacts_scale / 2000.0)]
        return s
    if persona == "ONE_OFF":
        first = created + timedelta(days=rng.random() * min(20.0, (now - created).days or 1))
        s.order_times = [first] if first < now else []
        s.leaves = first + timedelta(days=rng.uniform(5, 60))
    else:
        rhythm = RHYTHM_DAYS[persona] / max(orders_scale / 3.0, 0.1)
        rate = rng.gammavariate(4.0, 1.0 / 4.0) / rhythm  # customers differ around the mean
        lifetime = rng.expovariate(1.0 / LIFETIME_DAYS[persona])
        s.leaves = created + timedelta(days=lifetime)
        first = created + timedelta(days=rng.uniform(0, 3))
        later = _poisson_times(rng, created, min(s.leaves, now), rate)
        s.order_times = [t for t in (first, *later) if t < now]
    if s.leaves is not None and s.leaves >= now:
        s.leaves = None
    s.contact_times = _contacts(rng, s, now, contacts_scale)
    return s


def _contacts(
    rng: random.Random, s: Story, now: datetime, scale: float
) -> list[tuple[datetime, bool]]:
    """Emails, calls and meetings: often while engaged, thinning before a customer leaves,
    then only the company's own unanswered outreach."""
    base = scale / 200.0 * (1.5 if s.persona == "LOYAL" else 1.0)
    out: list[tuple[datetime, bool]] = []
    end = s.leaves or now
    for t in _poisson_times(rng, s.created, min(end, now), base):
        closeness = (end - t).total_seconds() / 86_400.0 if s.leaves else FADE_DAYS
        keep = min(1.0, 0.15 + closeness / FADE_DAYS)  # fades to 15 % at the leaving day
        if rng.random() < keep:
            out.append((t, rng.random() < 0.45 * keep + 0.05))
    if s.leaves is not None:  # win-back attempts nobody answers
        out += [(t, False) for t in _poisson_times(rng, s.leaves, now, base / 6.0)]
    return out


def stage(s: Story, now: datetime, rng: random.Random) -> str:
    """The stage a sales team would have set from what it could see."""
    if not s.order_times:
        return "PROSPECT" if s.contact_times and rng.random() < 0.5 else "LEAD"
    quiet_days = (now - max(s.order_times)).days
    if s.leaves is not None and quiet_days > 270 and rng.random() < 0.6:
        return "CHURNED"
    return "CUSTOMER"


def order_status(rng: random.Random, placed: datetime, now: datetime) -> str:
    """Mostly paid; recent ones may still be pending; a few refunded or cancelled."""
    if (now - placed).days < 7 and rng.random() < 0.4:
        return "PENDING"
    roll = rng.random()
    return "REFUNDED" if roll < 0.04 else "CANCELLED" if roll < 0.07 else "PAID"
