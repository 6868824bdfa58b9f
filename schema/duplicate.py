"""Duplicate customers: candidates of one customer and pairs across the organization."""

from __future__ import annotations

from enum import Enum

import strawberry

from db.duplicate import Match
from schema.customer import Customer


@strawberry.enum(description="What two customers have in common.")
class DuplicateSignal(Enum):
    EMAIL = strawberry.enum_value(
        "EMAIL", description="The same email once normalised: case, +tags, Gmail dots ignored."
    )
    PHONE = strawberry.enum_value("PHONE", description="The same phone number (E.164).")
    NAME = strawberry.enum_value(
        "NAME", description="Similar names (trigram similarity of the normalised names; "
        "umlauts spelled out, accents and punctuation ignored, so Müller = Mueller)."
    )
    COMPANY = strawberry.enum_value("COMPANY", description="The same company (case-insensitive).")
    POSTAL_CODE = strawberry.enum_value("POSTAL_CODE", description="The same postal code.")
    CITY = strawberry.enum_value("CITY", description="The same city (case-insensitive).")


@strawberry.type(description="One reason two customers look alike.")
class DuplicateReason:
    signal: DuplicateSignal
    similarity: float = strawberry.field(description="1.0 for equal values; names: 0 to 1.")


def _reasons(match: Match) -> list[DuplicateReason]:
    return [
        DuplicateReason(signal=DuplicateSignal(name), similarity=value)
        for name, value in match.signals.items()
    ]


@strawberry.type(
    description="A customer that may be the same person as the one asked about. Score: an "
    "equal normalised email gives 0.95, an equal phone 0.9, a similar name 0.75 times its "
    "similarity; the best of these counts, plus 0.05 for email and phone together and, for "
    "names at least 0.5 similar, 0.05 each for the same company, postal code and city (at most 1)."
)
class DuplicateCandidate:
    customer: Customer
    score: float
    reasons: list[DuplicateReason]

    @classmethod
    def of(cls, match: Match, customer: Customer) -> DuplicateCandidate:
        return cls(customer=customer, score=match.score, reasons=_reasons(match))


@strawberry.type(
    description="Two customers that may be the same person; `customer` has the lower id. "
    "Scored like DuplicateCandidate."
)
class DuplicatePair:
    customer: Customer
    duplicate: Customer
    score: float
    reasons: list[DuplicateReason]

    @classmethod
    def of(cls, match: Match, customer: Customer, duplicate: Customer) -> DuplicatePair:
        return cls(
            customer=customer, duplicate=duplicate, score=match.score, reasons=_reasons(match)
        )
