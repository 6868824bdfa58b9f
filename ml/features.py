"""Customer features as of a cutoff, computed only from events strictly before it.

Time is a float number of days since the Unix epoch everywhere in ``ml/``. Money is in the
organization's currency: orders in other currencies count as purchases (recency, frequency,
churn labels) but carry no money (their amount is NaN and monetary sums skip them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from ml.custom_fields import FieldValues, columns_at
from ml.custom_fields import describe as field_words

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

CHANNELS = ("EMAIL", "PHONE", "SMS", "MEETING", "CHAT", "SOCIAL", "NOTE")
WINDOWS = (30, 90, 365)
MIN_DAYS = 1.0  # a day's floor for "days since" so logs and ratios stay finite
DAY_SECONDS = 86_400.0


def to_day(moment: datetime) -> float:
    """A datetime as days since the Unix epoch (the time axis of ``ml/``)."""
    return moment.timestamp() / DAY_SECONDS


def from_day(day: float) -> datetime:
    """The inverse of ``to_day``."""
    return datetime.fromtimestamp(day * DAY_SECONDS, UTC)


@dataclass(frozen=True)
class Events:
    """Timestamped events of customers: ``customer`` indexes ``History.customer_ids``."""

    customer: Ints
    day: Floats
    amount: Floats | None = None  # orders: NaN when not in the organization's currency
    kind: Ints | None = None  # interactions: index into CHANNELS; email: index into outcomes
    inbound: npt.NDArray[np.bool_] | None = None

    def before(self, cutoff: float) -> npt.NDArray[np.bool_]:
        """Which events happened strictly before ``cutoff``."""
        return self.day < cutoff

    def between(self, start: float, end: float) -> npt.NDArray[np.bool_]:
        """Which events happened in ``[start, end)``."""
        return (self.day >= start) & (self.day < end)


def empty_events(*, with_amount: bool = False) -> Events:
    """An event list with no events."""
    return Events(
        customer=np.zeros(0, np.int64), day=np.zeros(0),
        amount=np.zeros(0) if with_amount else None,
        kind=None if with_amount else np.zeros(0, np.int64),
        inbound=None if with_amount else np.zeros(0, bool),
    )


@dataclass(frozen=True)
class History:
    """Everything the models learn from, for one organization, as plain arrays.

    ``orders`` holds PAID orders only. ``emails`` is the hook for email outcomes: None until the
    email domain provides them (see ``EMAIL_OUTCOMES`` and ``email_features``).
    """

    customer_ids: Ints
    created_day: Floats
    orders: Events
    interactions: Events
    emails: Events | None = None
    currency: str = "USD"
    # PAID orders in other currencies no exchange rate covers (their amounts are NaN)
    unconverted_orders: int = 0
    # the customer custom fields that feed the models, with their values over time
    custom: FieldValues | None = None

    @property
    def size(self) -> int:
        """How many customers the history covers."""
        return len(self.customer_ids)


@dataclass(frozen=True)
class FeatureTable:
    """Feature rows for the customers that existed at ``cutoff`` (``index`` into the history)."""

    cutoff: float
    index: Ints
    names: tuple[str, ...]
    values: Floats

    def column(self, name: str) -> Floats:
        """One feature's values."""
        return self.values[:, self.names.index(name)]


# --- email outcomes hook -----------------------------------------------------------------
# The email domain fills ``History.emails`` with one event per outcome, ``kind`` indexing
# EMAIL_OUTCOMES; until it exists ``emails`` is None and no email feature is produced.
EMAIL_OUTCOMES = ("DELIVERED", "OPENED", "CLICKED", "BOUNCED", "UNSUBSCRIBED")


def email_features(history: History, cutoff: float, rows: Ints) -> dict[str, Floats]:
    """Email outcome counts over 90 days and days since the last open (hook, see above)."""
    emails = history.emails
    if emails is None or emails.kind is None:
        return {}
    out: dict[str, Floats] = {}
    recent = emails.between(cutoff - 90, cutoff)
    for code, outcome in enumerate(EMAIL_OUTCOMES):
        mask = recent & (emails.kind == code)
        out[f"email_{outcome.lower()}_90d"] = _count(emails.customer[mask], history.size)[rows]
    opened = emails.before(cutoff) & (emails.kind == EMAIL_OUTCOMES.index("OPENED"))
    last_open = _last(emails.customer[opened], emails.day[opened], history.size)[rows]
    tenure = cutoff - history.created_day[rows]
    out["days_since_email_open"] = _days_since(cutoff, last_open, tenure)
    return out


# --- helpers -------------------------------------------------------------------------------


def _count(customers: Ints, size: int, weights: Floats | None = None) -> Floats:
    return np.bincount(customers, weights=weights, minlength=size).astype(np.float64)


def _last(customers: Ints, days: Floats, size: int) -> Floats:
    last = np.full(size, -np.inf)
    np.maximum.at(last, customers, days)
    return last


def _first(customers: Ints, days: Floats, size: int) -> Floats:
    first = np.full(size, np.inf)
    np.minimum.at(first, customers, days)
    return first


def _days_since(cutoff: float, last: Floats, fallback: Floats) -> Floats:
    since = np.where(np.isfinite(last), cutoff - last, fallback)
    return np.maximum(since, MIN_DAYS)


def window_totals(
    history: History, start: float, end: float
) -> tuple[Floats, Floats]:
    """Per customer (all of the history): PAID orders and their money in ``[start, end)``."""
    orders = history.orders
    mask = orders.between(start, end)
    counts = _count(orders.customer[mask], history.size)
    amounts = np.nan_to_num(orders.amount[mask]) if orders.amount is not None else None
    money = _count(orders.customer[mask], history.size, amounts)
    return counts, money


# --- the feature table -------------------------------------------------------------------


def existing_at(history: History, cutoff: float) -> Ints:
    """Customers created before ``cutoff``."""
    return np.flatnonzero(history.created_day < cutoff).astype(np.int64)


def _order_features(history: History, cutoff: float, rows: Ints) -> dict[str, Floats]:
    orders, size = history.orders, history.size
    before = orders.before(cutoff)
    tenure = np.maximum(cutoff - history.created_day[rows], MIN_DAYS)
    last = _last(orders.customer[before], orders.day[before], size)[rows]
    first = _first(orders.customer[before], orders.day[before], size)[rows]
    total, money = window_totals(history, -np.inf, cutoff)
    amount = orders.amount if orders.amount is not None else np.zeros(len(orders.day))
    priced = before & ~np.isnan(amount)
    priced_count = _count(orders.customer[priced], size)[rows]
    out: dict[str, Floats] = {
        "tenure_days": tenure,
        "has_ordered": (total[rows] > 0).astype(np.float64),
        "recency_days": _days_since(cutoff, last, tenure),
        "orders_total": total[rows],
        "revenue_total": money[rows],
        "avg_order_value": np.divide(
            money[rows], priced_count, out=np.zeros(len(rows)), where=priced_count > 0
        ),
        "mean_gap_days": np.where(
            total[rows] > 1, (last - first) / np.maximum(total[rows] - 1, 1), tenure
        ),
    }
    for days in WINDOWS:
        counts, amounts = window_totals(history, cutoff - days, cutoff)
        out[f"orders_{days}d"] = counts[rows]
        if days > 30:
            out[f"revenue_{days}d"] = amounts[rows]
    previous, _ = window_totals(history, cutoff - 180, cutoff - 90)
    out["order_trend_90d"] = out["orders_90d"] - previous[rows]
    return out


def _interaction_features(history: History, cutoff: float, rows: Ints) -> dict[str, Floats]:
    acts, size = history.interactions, history.size
    tenure = np.maximum(cutoff - history.created_day[rows], MIN_DAYS)
    out: dict[str, Floats] = {}
    for days in WINDOWS:
        mask = acts.between(cutoff - days, cutoff)
        out[f"interactions_{days}d"] = _count(acts.customer[mask], size)[rows]
    recent = acts.between(cutoff - 90, cutoff)
    inbound = acts.inbound if acts.inbound is not None else np.zeros(len(acts.day), bool)
    out["inbound_90d"] = _count(acts.customer[recent & inbound], size)[rows]
    out["outbound_90d"] = _count(acts.customer[recent & ~inbound], size)[rows]
    kinds = acts.kind if acts.kind is not None else np.zeros(len(acts.day), np.int64)
    for code, channel in enumerate(CHANNELS):
        mask = recent & (kinds == code)
        out[f"{channel.lower()}_90d"] = _count(acts.customer[mask], size)[rows]
    before = acts.before(cutoff)
    last = _last(acts.customer[before], acts.day[before], size)[rows]
    out["days_since_interaction"] = _days_since(cutoff, last, tenure)
    last_in = _last(acts.customer[before & inbound], acts.day[before & inbound], size)[rows]
    out["days_since_inbound"] = _days_since(cutoff, last_in, tenure)
    return out


def _custom_field_features(history: History, cutoff: float, rows: Ints) -> dict[str, Floats]:
    return columns_at(history.custom, cutoff, rows, history.size)


FeatureGroup = Callable[[History, float, Ints], dict[str, Floats]]
GROUPS: tuple[FeatureGroup, ...] = (
    _order_features, _interaction_features, email_features, _custom_field_features,
)


def describe(history: History, feature: str, value: float) -> str | None:
    """A custom field feature's value in words (None for the other features)."""
    return field_words(history.custom.specs if history.custom else (), feature, value)


def medians(X: Floats) -> Floats:
    """Each column's median over its known (non-NaN) values; NaN for a column with none."""
    out = np.full(X.shape[1], np.nan)
    for j in range(X.shape[1]):
        known = X[:, j][~np.isnan(X[:, j])]
        if len(known):
            out[j] = float(np.median(known))
    return out


def features_at(history: History, cutoff: float, rows: Ints | None = None) -> FeatureTable:
    """Features of the customers existing at ``cutoff`` (or of ``rows``), from earlier events."""
    index = existing_at(history, cutoff) if rows is None else rows
    columns: dict[str, Floats] = {}
    for group in GROUPS:
        columns.update(group(history, cutoff, index))
    names = tuple(columns)
    values = (
        np.column_stack([columns[n] for n in names]) if len(index) else np.zeros((0, len(names)))
    )
    return FeatureTable(cutoff=cutoff, index=index, names=names, values=values)


def align(table: FeatureTable, names: tuple[str, ...]) -> FeatureTable:
    """The table with exactly ``names`` as columns (missing ones zero), as a model expects."""
    if table.names == names:
        return table
    values = np.zeros((len(table.index), len(names)))
    for i, name in enumerate(names):
        if name in table.names:
            values[:, i] = table.column(name)
    return FeatureTable(table.cutoff, table.index, names, values)
