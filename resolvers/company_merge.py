"""Company duplicates and merges (as the customer ones: db/company_merge.py)."""

from __future__ import annotations

from typing import Any

import strawberry

from auth.permissions import IsAuthenticated, IsManager
from core.errors import AppError, ErrorCode
from db import company_merge as merges
from resolvers.common import attempt
from resolvers.ids import pk, pks
from schema.company import Company
from schema.company_merge import (
    CompanyDuplicate,
    CompanyMergeMoves,
    MergeCompaniesInput,
    MergeCompaniesPayload,
)
from schema.node import decode_id


@strawberry.type
class CompanyMergeQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def company_duplicates(
        self, info: strawberry.Info, company_id: strawberry.ID, first: int = 10,
        min_score: float = 0.5,
    ) -> list[CompanyDuplicate]:
        """Live companies that may be the same as this one, best first."""
        if not 1 <= first <= 100:
            raise AppError(ErrorCode.BAD_USER_INPUT, "first must be between 1 and 100",
                           ["first"])
        if not 0 <= min_score <= 1:
            raise AppError(ErrorCode.BAD_USER_INPUT, "minScore must be between 0 and 1",
                           ["minScore"])
        org_id = info.context.require_viewer().organization_id
        found = await merges.duplicates(
            org_id=org_id, company_id=decode_id(company_id, "Company", "companyId"),
            min_score=min_score, limit=first,
        )
        if found is None:
            raise AppError(ErrorCode.NOT_FOUND, "company not found", ["companyId"])
        return [CompanyDuplicate.of(c) for c in found]


@strawberry.type
class CompanyMergeMutation:
    @strawberry.mutation(permission_classes=[IsManager])
    async def merge_companies(
        self, info: strawberry.Info, input: MergeCompaniesInput
    ) -> MergeCompaniesPayload:
        """Absorb duplicates into the primary company: memberships, deals, tasks and notes
        move; the duplicates are soft-deleted with mergedInto set (their history stays)."""
        org_id = info.context.require_viewer().organization_id

        async def work() -> tuple[dict[str, Any], dict[str, int]]:
            return await merges.merge(
                org_id=org_id, primary_id=pk(input.primary_id, "Company", "input", "primaryId"),
                duplicate_ids=pks(input.duplicate_ids, "Company", "input", "duplicateIds"),
            )

        done, errors = await attempt(work)
        if done is None:
            return MergeCompaniesPayload(errors=errors)
        row, moved = done
        return MergeCompaniesPayload(company=Company.from_row(row),
                                     absorbed_ids=list(input.duplicate_ids),
                                     moved=CompanyMergeMoves(**moved))
