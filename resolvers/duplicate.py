"""Duplicate detection queries."""

from __future__ import annotations

import strawberry

from auth.permissions import IsAuthenticated
from core.errors import AppError, ErrorCode, not_found
from db import customer as customers
from db import duplicate as duplicates
from db.pagination import Sort, decode_cursor, encode_cursor, page_args
from schema.customer import Customer
from schema.duplicate import DuplicateCandidate, DuplicatePair
from schema.node import decode_id
from schema.pagination import Connection, Edge, PageInfo

# pairs walk in (customer id, duplicate id) order: the cursor holds both
PAIR_SORT = Sort("CUSTOMER_ID_DUPLICATE_ID", "a_id", "number", descending=False)
MAX_CANDIDATES = 50
LAST_ID = 2**63 - 1
DEFAULT_MIN_SCORE = 0.5


def _cursor(customer_id: int, duplicate_id: int) -> str:
    return encode_cursor(PAIR_SORT, {"sort_key": customer_id, "id": duplicate_id})


def _check_score(min_score: float) -> None:
    if not 0 <= min_score <= 1:
        raise AppError(ErrorCode.BAD_USER_INPUT, "minScore must be between 0 and 1", ["minScore"])


async def _customers(org_id: int, ids: set[int]) -> dict[int, Customer]:
    rows = await customers.get_many(org_id=org_id, ids=sorted(ids))
    return {pk: Customer.from_row(row) for pk, row in rows.items()}


@strawberry.type
class DuplicateQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def customer_duplicates(
        self, info: strawberry.Info, customer_id: strawberry.ID, first: int = 10,
        min_score: float = DEFAULT_MIN_SCORE,
    ) -> list[DuplicateCandidate]:
        """Live customers that may be the same person as this one, best first (see the score)."""
        org_id = info.context.require_viewer().organization_id
        pk = decode_id(customer_id, "Customer", "customerId")
        if not 0 <= first <= MAX_CANDIDATES:
            raise AppError(ErrorCode.BAD_USER_INPUT,
                           f"first must be between 0 and {MAX_CANDIDATES}", ["first"])
        _check_score(min_score)
        if not await customers.get_many(org_id=org_id, ids=[pk]):
            raise not_found("customer", ["customerId"])
        matches = await duplicates.candidates(
            org_id=org_id, customer_id=pk, min_score=min_score, limit=first
        )
        found = await _customers(org_id, {m.duplicate_id for m in matches})
        return [DuplicateCandidate.of(m, found[m.duplicate_id]) for m in matches
                if m.duplicate_id in found]

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def find_duplicate_customers(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
    ) -> Connection[DuplicatePair]:
        """Every likely duplicate pair of live customers, in (customer id, duplicate id) order.

        The order is stable: follow ``endCursor`` while ``hasNextPage`` to see every pair once.
        Each page looks at a bounded slice of customers, so a page may hold fewer pairs than
        asked for (even none) while ``hasNextPage`` is true. Pairs that new or changed customers
        form with customers already walked show up in the next walk. Pairs sharing only a name
        are not listed here (too common); ``customerDuplicates`` shows them. ``totalCount``
        looks at every customer of the organization: seconds for 100k customers.
        """
        org_id = info.context.require_viewer().organization_id
        settings = info.context.settings
        args = page_args(PAIR_SORT, first=first, after=None, last=None, before=None,
                         default_size=settings.default_page_size,
                         max_size=settings.max_page_size)
        _check_score(min_score)
        start = decode_cursor(PAIR_SORT, after, "after") if after is not None else None
        cursor = (int(start[0]), start[1]) if start else None
        found_page = await duplicates.pairs(
            org_id=org_id, min_score=min_score, after=cursor, limit=args.limit + 1
        )
        page = found_page.matches[: args.limit]
        found = await _customers(
            org_id, {m.customer_id for m in page} | {m.duplicate_id for m in page}
        )
        edges = [
            Edge(cursor=_cursor(m.customer_id, m.duplicate_id),
                 node=DuplicatePair.of(m, found[m.customer_id], found[m.duplicate_id]))
            for m in page if m.customer_id in found and m.duplicate_id in found
        ]
        has_next = len(found_page.matches) > args.limit or found_page.scanned_to is not None
        end = edges[-1].cursor if edges else None
        if found_page.scanned_to is not None and len(found_page.matches) <= args.limit:
            end = _cursor(found_page.scanned_to, LAST_ID)  # go on after what this page looked at

        async def counter() -> int:
            return await duplicates.count_pairs(org_id=org_id, min_score=min_score)

        return Connection(
            edges=edges, nodes=[e.node for e in edges],
            page_info=PageInfo(
                has_next_page=has_next, has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None, end_cursor=end,
            ),
            counter=counter,
        )
