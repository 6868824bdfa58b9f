"""Customer merge: preview, merge, and where an absorbed customer went."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry

from auth.permissions import IsAuthenticated, IsManager
from core.errors import ErrorCode, FieldError, InputError
from db import merge as merges
from resolvers.common import attempt
from schema.customer import Customer
from schema.merge import (
    MergeCustomersInput,
    MergeCustomersPayload,
    MergeMoves,
    MergeOverride,
    MergePreview,
)
from schema.node import decode_id, to_global_id


def _customer_name(pk: int) -> str:
    return str(to_global_id("Customer", pk))


def _ids(
    primary_id: strawberry.ID, duplicate_ids: Sequence[strawberry.ID], prefix: tuple[str, ...]
) -> tuple[int, list[int]]:
    path = ".".join(prefix)
    dotted = f"{path}." if path else ""
    return (
        decode_id(primary_id, "Customer", f"{dotted}primaryId"),
        [decode_id(i, "Customer", f"{dotted}duplicateIds") for i in duplicate_ids],
    )


def _overrides(given: Sequence[MergeOverride] | None, prefix: tuple[str, ...]) -> dict[str, int]:
    chosen: dict[str, int] = {}
    for index, override in enumerate(given or ()):
        path = (*prefix, "overrides", str(index))
        if override.field.value in chosen:
            raise InputError([FieldError(ErrorCode.BAD_USER_INPUT, (*path, "field"),
                                         "this field is overridden twice")])
        chosen[override.field.value] = decode_id(
            override.from_id, "Customer", ".".join((*path, "fromId"))
        )
    return chosen


@strawberry.type
class MergeQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def merge_customers_preview(
        self, info: strawberry.Info, primary_id: strawberry.ID,
        duplicate_ids: list[strawberry.ID], overrides: list[MergeOverride] | None = None,
    ) -> MergePreview:
        """The merged record, its conflicts and what moves, as mergeCustomers would do it now."""
        org_id = info.context.require_viewer().organization_id
        primary, duplicates = _ids(primary_id, duplicate_ids, ())
        plan = await merges.plan(
            org_id=org_id, primary_id=primary, duplicate_ids=duplicates,
            overrides=_overrides(overrides, ()), name_of=_customer_name,
        )
        return MergePreview.of(plan)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def customer_merged_into(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> Customer | None:
        """The live customer holding customer ``id``'s history: itself if live, the customer a
        merge absorbed it into (merges of merges followed), or null."""
        pk = await info.context.loaders.merged_into.load(decode_id(id, "Customer"))
        row = await info.context.loaders.customer.load(pk) if pk is not None else None
        return Customer.from_row(row) if row else None


@strawberry.type
class MergeMutation:
    @strawberry.mutation(permission_classes=[IsManager])
    async def merge_customers(
        self, info: strawberry.Info, input: MergeCustomersInput
    ) -> MergeCustomersPayload:
        """Merge duplicates into the primary at once, as mergeCustomersPreview shows it.

        The duplicates are soft-deleted with mergedInto set; on any error nothing is written.
        """
        org_id = info.context.require_viewer().organization_id

        async def work() -> tuple[merges.Plan, dict[str, Any]]:
            primary, duplicates = _ids(input.primary_id, input.duplicate_ids, ("input",))
            return await merges.merge(
                org_id=org_id, primary_id=primary, duplicate_ids=duplicates,
                overrides=_overrides(input.overrides, ("input",)), name_of=_customer_name,
            )

        done, errors = await attempt(work)
        if done is None:
            return MergeCustomersPayload(errors=errors)
        plan, row = done
        return MergeCustomersPayload(
            customer=Customer.from_row(row),
            absorbed_ids=[to_global_id("Customer", pk) for pk in plan.duplicate_ids],
            moves=MergeMoves.of(plan.moves),
        )
