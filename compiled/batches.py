"""Batched counterparts of resolver fields: one call serves every parent object of a level.

Each returns, for a list of parent objects, the values the field's resolver would return for
each of them (the same API objects, built by the same ``from_row``), with one SQL statement
where the resolver goes through a per-operation DataLoader. The differential tests
(``tests/compiled/``) hold both paths to the same bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar

from compiled.columns import needed
from db import channel_contact as contacts
from db import channel_message as channel_messages
from db import conversation as conversations
from db import customer as customers
from db import customer_score
from db import email as emails
from db import interaction as interactions
from db import merge as merges
from db import order as orders
from db import prediction as predictions
from db import product as products
from db import recommendation as recommendations
from db import user as users
from db.channel_enums import MESSAGING_CHANNELS
from db.enums import Channel, Direction
from db.pagination import (
    Page,
    Sort,
    Source,
    count_by_parent,
    encode_cursor,
    fetch_pages_by_parent,
    page_args,
)
from db.sql import Row
from schema.customer import Customer
from schema.email_delivery import EmailDelivery
from schema.interaction import Interaction
from schema.message import MessageDelivery
from schema.money import Money
from schema.node import decode_id
from schema.order import Order
from schema.pagination import Connection
from schema.prediction import CustomerPrediction
from schema.prediction_score import CustomerScore
from schema.product import Product, check_together, together
from schema.recommendation import build, check_first, chosen
from schema.user import User

T = TypeVar("T")
V = TypeVar("V")


@dataclass(eq=False)
class Work:
    """One request's state on the compiled path."""

    org_id: int
    default_page_size: int
    max_page_size: int
    memo: dict[Hashable, Any] = field(default_factory=dict)
    user_id: int | None = None  # the signed-in user (None for API keys)


@dataclass(frozen=True)
class Nodes:
    """What a document asks of a batched connection's nodes."""

    fields: frozenset[str]  # the fields it selects on them
    rows: bool = False  # every node selection reads only row columns: the rows are the nodes


# None: the field is not a connection
Selected = Nodes | None
Batch = Callable[[Work, list[Any], dict[str, Any], Selected], Awaitable[list[Any]]]


def _unique(values: Sequence[int | None]) -> list[int]:
    return list(dict.fromkeys(v for v in values if v is not None))


async def rows_by_id(
    work: Work,
    kind: str,
    ids: Sequence[int | None],
    fetch_many: Callable[[list[int]], Awaitable[Mapping[int, V]]],
) -> dict[int, V | None]:
    """Rows by id, each fetched once per request (as the generic path's DataLoaders cache)."""
    known: dict[int, V | None] = work.memo.setdefault(kind, {})
    missing = [i for i in _unique(ids) if i not in known]
    if missing:
        found = await fetch_many(missing)
        known.update((i, found.get(i)) for i in missing)
    return known


async def _customers_by_id(work: Work, ids: Sequence[int | None]) -> list[Customer | None]:
    rows = await rows_by_id(
        work, "customer", ids, lambda wanted: customers.get_many(org_id=work.org_id, ids=wanted)
    )
    return objects_by_id(work, "customer objects", ids, rows, Customer.from_row)


async def _users_by_id(work: Work, ids: Sequence[int | None]) -> list[User | None]:
    rows = await rows_by_id(
        work, "user", ids, lambda wanted: users.get_many(org_id=work.org_id, ids=wanted)
    )
    return objects_by_id(work, "user objects", ids, rows, User.from_row)


def objects_by_id(
    work: Work, kind: str, ids: Sequence[int | None], rows: Mapping[int, Row | None],
    build: Callable[[Row], T],
) -> list[T | None]:
    """The API object of each id (one per id and request, shared by every parent naming it)."""
    made: dict[int, T | None] = work.memo.setdefault(kind, {})
    for i in ids:
        if i is not None and i not in made:
            row = rows[i]
            made[i] = build(row) if row is not None else None
    return [None if i is None else made[i] for i in ids]


async def customer_owner(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    return await _users_by_id(work, [p.owner_id for p in parents])


async def _stats(work: Work, parents: list[Any]) -> list[customers.CustomerStats]:
    found = await rows_by_id(work, "stats", [p.pk for p in parents],
                        lambda wanted: customers.stats(ids=wanted))
    return [found[p.pk] or customers.CustomerStats() for p in parents]


async def customer_lifetime_value(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    return [
        [Money.of(amount, currency) for currency, amount in s.lifetime_value]
        for s in await _stats(work, parents)
    ]


async def customer_order_count(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    return [s.order_count for s in await _stats(work, parents)]


async def customer_last_order_at(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    return [s.last_order_at for s in await _stats(work, parents)]


async def customer_last_interaction_at(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    return [s.last_interaction_at for s in await _stats(work, parents)]


async def customer_merged_into(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    deleted = [p.pk for p in parents if p.deleted_at is not None]
    holders = await merges.merged_into(org_id=work.org_id, ids=deleted) if deleted else {}
    wanted = [
        holders.get(p.pk) if p.deleted_at is not None and holders.get(p.pk) != p.pk else None
        for p in parents
    ]
    return await _customers_by_id(work, wanted)


async def customer_prediction(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    rows = await predictions.get_many(
        org_id=work.org_id, customer_ids=_unique([p.pk for p in parents])
    )
    return [
        CustomerPrediction.from_row(rows[p.pk], rows[p.pk]["currency"]) if p.pk in rows else None
        for p in parents
    ]


async def customer_scores(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    names = args.get("names")
    rows = await customer_score.for_customers(
        org_id=work.org_id, customer_ids=_unique([p.pk for p in parents])
    )
    return [
        [CustomerScore.from_row(r) for r in rows.get(p.pk, [])
         if names is None or r["name"] in names]
        for p in parents
    ]


@dataclass(eq=False)
class ChildCount:
    """A nested connection's ``totalCount``, counted for all parents in one statement."""

    key: Hashable
    source: Callable[[], Source]
    parent: str
    parent_id: int

    async def __call__(self) -> int:
        counts = await count_by_parent(self.source(), self.parent, [self.parent_id])
        return counts.get(self.parent_id) or 0


def _itself(row: Row) -> Row:
    return row


class LazyEdge:
    """An edge whose cursor is encoded only if the document asks for it."""

    __slots__ = ("_row", "_sort", "node")

    def __init__(self, row: Row, sort: Sort, node: Any) -> None:
        self._row, self._sort, self.node = row, sort, node

    @property
    def cursor(self) -> str:
        return encode_cursor(self._sort, self._row)


class LazyPageInfo:
    """``schema.pagination.PageInfo`` with its cursors encoded on demand."""

    __slots__ = ("_page", "_sort")

    def __init__(self, page: Page, sort: Sort) -> None:
        self._page, self._sort = page, sort

    @property
    def has_next_page(self) -> bool:
        return self._page.has_next

    @property
    def has_previous_page(self) -> bool:
        return self._page.has_previous

    @property
    def start_cursor(self) -> str | None:
        rows = self._page.rows
        return encode_cursor(self._sort, rows[0]) if rows else None

    @property
    def end_cursor(self) -> str | None:
        rows = self._page.rows
        return encode_cursor(self._sort, rows[-1]) if rows else None


class LazyConnection:
    """``schema.pagination.connection`` of a page, without encoding unasked cursors."""

    __slots__ = ("counter", "edges", "nodes", "page_info")

    def __init__(
        self, page: Page, sort: Sort, node_of: Callable[[Row], Any],
        counter: ChildCount | Callable[[], Awaitable[int]],
    ) -> None:
        self.nodes = [node_of(row) for row in page.rows]
        self.edges = [LazyEdge(r, sort, n) for r, n in zip(page.rows, self.nodes, strict=True)]
        self.page_info = LazyPageInfo(page, sort)
        self.counter = counter


async def _child_connections(
    work: Work,
    parents: list[Any],
    args: dict[str, Any],
    *,
    sorts: dict[str, Sort],
    default_sort: str,
    source_of: Callable[[Any], Source],
    filter_of: Callable[[Any], Any],
    node_of: Callable[[Row], Any],
    columns: str | None = None,
    rows: bool = False,
) -> list[Any]:
    """Each parent's page, in one statement reading ``columns`` (None: every column); with
    ``rows``, the rows themselves are the nodes (``Nodes.rows``)."""
    if rows:
        node_of = _itself
    order_by = args.get("order_by")
    sort = sorts[order_by.value if order_by else default_sort]
    given = args.get("filter")
    f = filter_of(given)
    page = page_args(
        sort,
        first=args.get("first"),
        after=args.get("after"),
        last=args.get("last"),
        before=args.get("before"),
        default_size=work.default_page_size,
        max_size=work.max_page_size,
    )
    ids = _unique([p.pk for p in parents])
    source = source_of(f)
    if columns is not None:
        source = replace(source, columns=columns)
    pages = await fetch_pages_by_parent(source, "customer_id", ids, sort, page) if ids else {}
    empty = Page([], False, False)
    return [
        LazyConnection(
            pages.get(p.pk) or empty,
            sort,
            node_of,
            ChildCount(("customer_id", f), partial(source_of, f), "customer_id", p.pk),
        )
        for p in parents
    ]


async def customer_interactions(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    return await _child_connections(
        work,
        parents,
        args,
        sorts=interactions.SORTS,
        default_sort="OCCURRED_AT_DESC",
        source_of=lambda f: interactions.source(work.org_id, f),
        filter_of=lambda given: given.to_filter() if given else interactions.InteractionFilter(),
        node_of=Interaction.from_row,
        columns=needed("Interaction", selected.fields if selected else None),
        rows=selected is not None and selected.rows,
    )


async def customer_orders(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    return await _child_connections(
        work,
        parents,
        args,
        sorts=orders.SORTS,
        default_sort="PLACED_AT_DESC",
        source_of=lambda f: orders.source(work.org_id, f),
        filter_of=lambda given: given.to_filter() if given else orders.OrderFilter(),
        node_of=Order.from_row,
    )


async def connection_total_count(
    work: Work,
    parents: list[Connection[Any] | LazyConnection],
    args: dict[str, Any],
    selected: Selected,
) -> list[Any]:
    counts: list[Any] = [None] * len(parents)
    groups: dict[Hashable, list[int]] = {}
    for index, conn in enumerate(parents):
        counter = conn.counter
        if isinstance(counter, ChildCount):
            groups.setdefault(counter.key, []).append(index)
        else:
            counts[index] = await counter()
    for members in groups.values():
        first: ChildCount = parents[members[0]].counter  # type: ignore[assignment]
        ids = _unique([parents[i].counter.parent_id for i in members])  # type: ignore[attr-defined]
        found = await count_by_parent(first.source(), first.parent, ids)
        for i in members:
            counts[i] = found.get(parents[i].counter.parent_id) or 0  # type: ignore[attr-defined]
    return counts


async def owned_customer(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    return await _customers_by_id(work, [p.customer_id for p in parents])


async def interaction_created_by(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    return await _users_by_id(work, [p.created_by_id for p in parents])


async def interaction_email(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    def pk(p: Any) -> int | None:
        if p.channel != Channel.EMAIL or p.direction != Direction.OUTBOUND:
            return None
        return decode_id(p.id, "Interaction")

    ids = [pk(p) for p in parents]
    wanted = _unique(ids)
    rows = await emails.deliveries(org_id=work.org_id, interaction_ids=wanted) if wanted else {}
    return [EmailDelivery.from_row(rows[i]) if i in rows else None for i in ids]


async def interaction_message(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    def pk(p: Any) -> int | None:
        if p.direction != Direction.OUTBOUND or p.channel not in MESSAGING_CHANNELS:
            return None
        return decode_id(p.id, "Interaction")

    ids = [pk(p) for p in parents]
    wanted = _unique(ids)
    rows = await channel_messages.deliveries(
        org_id=work.org_id, interaction_ids=wanted) if wanted else {}
    return [MessageDelivery.from_row(rows[i]) if i in rows else None for i in ids]


async def customer_conversation(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    channel = args.get("channel")
    return await _child_connections(
        work, parents, {**args, "order_by": None, "filter": None},
        sorts={conversations.SORT.name: conversations.SORT},
        default_sort=conversations.SORT.name,
        source_of=lambda f: interactions.source(work.org_id, f),
        filter_of=lambda _: conversations.thread_filter(Channel(channel) if channel else None),
        node_of=Interaction.from_row,
        columns=needed("Interaction", selected.fields if selected else None),
        rows=selected is not None and selected.rows,
    )


async def customer_unread_count(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    if work.user_id is None:
        return [None for _ in parents]
    counts = await conversations.unread_counts(user_id=work.user_id,
                                               customer_ids=_unique([p.pk for p in parents]))
    return [counts.get(p.pk, 0) for p in parents]


async def customer_opted_out_channels(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    found = await contacts.opted_out_by_customer(customer_ids=_unique([p.pk for p in parents]))
    return [[Channel(c) for c in found.get(p.pk, [])] for p in parents]


async def line_item_product(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    keys = [products.sku_key(p.sku) if p.sku else None for p in parents]
    known: dict[str, Row | None] = work.memo.setdefault("product by sku", {})
    missing = [k for k in dict.fromkeys(keys) if k is not None and k not in known]
    if missing:
        found = await products.by_skus(org_id=work.org_id, skus=missing)
        known.update((k, found.get(k)) for k in missing)
    return [None if k is None or known[k] is None else Product.from_row(known[k])  # type: ignore[arg-type]
            for k in keys]


async def product_bought_together(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    first = args.get("first", 5)
    check_together(first)
    rows = await recommendations.neighbours(org_id=work.org_id, ids=_unique(
        [p.pk for p in parents]))
    return [together(rows.get(p.pk, []), first) for p in parents]


async def customer_recommendations(
    work: Work, parents: list[Any], args: dict[str, Any], selected: Selected
) -> list[Any]:
    first = args.get("first", 5)
    check_first(first)
    stored = await recommendations.for_customers(org_id=work.org_id, ids=_unique(
        [p.pk for p in parents]))
    return [build(chosen(stored.get(p.pk, []), first, args.get("filter"))) for p in parents]


# the batches whose connections give their rows as nodes when ``Nodes.rows`` says they may
ROW_NODES: frozenset[Batch] = frozenset({customer_interactions, customer_conversation})

# Keyed by Strawberry type name (generic connections share "Connection") and GraphQL field.
BATCHES: dict[str, Batch] = {
    "Customer.owner": customer_owner,
    "Customer.lifetimeValue": customer_lifetime_value,
    "Customer.orderCount": customer_order_count,
    "Customer.lastOrderAt": customer_last_order_at,
    "Customer.lastInteractionAt": customer_last_interaction_at,
    "Customer.mergedInto": customer_merged_into,
    "Customer.prediction": customer_prediction,
    "Customer.scores": customer_scores,
    "Customer.interactions": customer_interactions,
    "Customer.orders": customer_orders,
    "Connection.totalCount": connection_total_count,
    "Interaction.customer": owned_customer,
    "Interaction.createdBy": interaction_created_by,
    "Interaction.email": interaction_email,
    "Interaction.message": interaction_message,
    "Customer.conversation": customer_conversation,
    "Customer.unreadCount": customer_unread_count,
    "Customer.optedOutChannels": customer_opted_out_channels,
    "Order.customer": owned_customer,
    "LineItem.product": line_item_product,
    "Product.boughtTogether": product_bought_together,
    "Customer.recommendations": customer_recommendations,
}
