"""Company duplicates and merges."""

from __future__ import annotations

from enum import Enum

import strawberry

from db.company_merge import Candidate
from schema.company import Company
from schema.errors import UserError


@strawberry.enum(description="What two companies have in common.")
class CompanyDuplicateSignal(Enum):
    DOMAIN = strawberry.enum_value(
        "DOMAIN", description="The same site: one domain is under the other (1.0), or the same"
        " name under another top-level domain, acme.de and acme.com (0.8)."
    )
    NAME = strawberry.enum_value(
        "NAME", description="Similar names (trigram similarity; 1.0 when equal once case,"
        " punctuation and legal forms such as GmbH or Inc. are left out)."
    )


@strawberry.type(description="One reason two companies look alike.")
class CompanyDuplicateReason:
    signal: CompanyDuplicateSignal
    similarity: float


@strawberry.type(description="A company that may be the same as the one asked about. Score: the"
                 " domain's similarity or 0.8 times the name's, whichever is higher, plus 0.1"
                 " when the domain agrees and the names are at least 0.5 similar (at most 1).")
class CompanyDuplicate:
    company: Company
    score: float
    reasons: list[CompanyDuplicateReason]

    @classmethod
    def of(cls, candidate: Candidate) -> CompanyDuplicate:
        return cls(company=Company.from_row(candidate.row), score=candidate.score, reasons=[
            CompanyDuplicateReason(signal=CompanyDuplicateSignal(name), similarity=value)
            for name, value in candidate.signals.items()])


@strawberry.input(description="Companies to absorb into a primary one.")
class MergeCompaniesInput:
    primary_id: strawberry.ID
    duplicate_ids: list[strawberry.ID] = strawberry.field(description="1 to 10 companies.")


@strawberry.type(description="What a company merge moved to the primary company.")
class CompanyMergeMoves:
    memberships: int
    deals: int
    tasks: int
    notes: int = strawberry.field(description="Interactions about the absorbed companies.")


@strawberry.type
class MergeCompaniesPayload:
    company: Company | None = None
    absorbed_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    moved: CompanyMergeMoves | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
