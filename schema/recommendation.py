"""Recommendations: the next best products for a customer, with why."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

from core.errors import AppError, ErrorCode
from db import recommendation as recommendations
from db.sql import Row
from schema.product import Product

MAX_FIRST = 20


@strawberry.enum(description="What made a product a recommendation.")
class RecommendationReasonKind(Enum):
    BOUGHT_WITH = strawberry.enum_value(
        "BOUGHT_WITH", description="Customers who bought what this customer bought bought it.")
    BUY_AGAIN = strawberry.enum_value("BUY_AGAIN", description="This customer buys it again.")
    POPULAR_IN_SEGMENT = strawberry.enum_value(
        "POPULAR_IN_SEGMENT", description="Popular with customers like this one.")
    POPULAR = strawberry.enum_value("POPULAR", description="Popular overall (no history yet).")


@strawberry.type(description="Why a product is recommended.")
class RecommendationReason:
    kind: RecommendationReasonKind
    basis: str = strawberry.field(description="In words, e.g. 'bought with Burr grinder'.")
    basis_product: Product | None = strawberry.field(
        description="The product it was bought with (BOUGHT_WITH).")


@strawberry.type(description="A product to offer a customer next.")
class Recommendation:
    product: Product
    score: float = strawberry.field(description="Higher is better; comparable within a list.")
    reasons: list[RecommendationReason]


@strawberry.input(description="Which recommendations to show; every given condition must hold.")
class RecommendationFilter:
    categories: list[str] | None = strawberry.field(
        default=None, description="Only products in these categories (or below them).")
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    exclude_purchased: bool = strawberry.field(
        default=True, description="Leave out what the customer bought before.")


def _reason(row: Row) -> RecommendationReason:
    kind = RecommendationReasonKind(row["kind"])
    basis = recommendations.basis_product(row)
    basis_product = None if basis is None else Product.from_row(basis)
    words = {
        RecommendationReasonKind.BOUGHT_WITH: f"bought with {row['basis_name'] or 'a product'}",
        RecommendationReasonKind.BUY_AGAIN: "bought it before and tends to buy it again",
        RecommendationReasonKind.POPULAR_IN_SEGMENT: "popular with similar customers",
        RecommendationReasonKind.POPULAR: "popular with customers overall",
    }[kind]
    return RecommendationReason(kind=kind, basis=words, basis_product=basis_product)


def _wanted(row: Row, f: RecommendationFilter) -> bool:
    if not row["active"] or (f.exclude_purchased and row["purchased"]):
        return False
    if f.min_price is not None and row["price"] < f.min_price:
        return False
    if f.max_price is not None and row["price"] > f.max_price:
        return False
    if f.categories:
        category = row["category"] or ""
        return any(category == c or category.startswith(c.rstrip("/") + "/")
                   for c in f.categories)
    return True


def check_first(first: int) -> None:
    if not 1 <= first <= MAX_FIRST:
        raise AppError(ErrorCode.BAD_USER_INPUT, f"first must be between 1 and {MAX_FIRST}",
                       ["first"])


def chosen(rows: Sequence[Row], first: int, f: RecommendationFilter | None) -> list[Row]:
    """The stored rows that pass ``f``, best first, at most ``first``."""
    wanted = f or RecommendationFilter()
    return [row for row in rows if _wanted(row, wanted)][:first]


def build(rows: Sequence[Row]) -> list[Recommendation]:
    """The API objects of chosen rows."""
    return [Recommendation(product=Product.from_row(row), score=row["score"],
                           reasons=[_reason(row)]) for row in rows]


async def for_customer(
    info: strawberry.Info, customer_id: int, first: int, f: RecommendationFilter | None
) -> list[Recommendation]:
    """The customer's recommendations under ``f``, best first."""
    check_first(first)
    rows: list[Any] = await info.context.loaders.recommendations.load(customer_id)
    return build(chosen(rows, first, f))
