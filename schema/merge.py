"""Customer merge: the preview, its conflicts and moves, the input and the payload."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from db import merge as merges
from db.sql import Row
from schema.customer import Address, Customer
from schema.enums import CustomerKind, LifecycleStage
from schema.errors import UserError
from schema.node import to_global_id

POLICY = (
    "Policy: the primary's non-empty values win; its empty fields are filled from the "
    "duplicates, the most recently updated first (the address as a whole); stage is the most "
    "advanced (CUSTOMER > CHURNED > PROSPECT > LEAD); tags are unioned; custom fields merged "
    "(the primary's keys win, then the most recently updated duplicate's); emailOptOut is true "
    "if any customer opted out (consent is never lost); overrides pick a field's value from a "
    "named customer. Interactions, orders, email messages and suppressions move to the primary; "
    "the absorbed customers' predictions are dropped (the primary is scored again)."
)


@strawberry.enum(description="Fields whose value an override may pick from a named customer.")
class MergeField(Enum):
    NAME = "name"
    KIND = "kind"
    EMAIL = "email"
    PHONE = "phone"
    COMPANY = "company"
    EXTERNAL_REF = "external_ref"
    OWNER = "owner_id"
    ADDRESS = "address"
    STAGE = "stage"


@strawberry.enum(description="Why the merged record has the value it has.")
class MergeRule(Enum):
    PRIMARY = "PRIMARY"
    FILLED_FROM_DUPLICATE = "FILLED_FROM_DUPLICATE"
    OVERRIDE = "OVERRIDE"
    MOST_ADVANCED = "MOST_ADVANCED"
    PRIMARY_KEYS_WIN = "PRIMARY_KEYS_WIN"
    CONSENT_KEPT = "CONSENT_KEPT"


API_NAMES = {"external_ref": "externalRef", "owner_id": "owner", "custom_fields": "customFields",
             "email_opt_out": "emailOptOut", "postal_code": "postalCode"}


def _json(name: str, value: Any) -> Any:
    """A field's value as the API shows it (global ids, camelCase keys)."""
    if name == "owner_id":
        return to_global_id("User", value) if value is not None else None
    if name == "address":
        return {API_NAMES.get(k, k): v for k, v in value.items()}
    return value


@strawberry.type(description="A customer's value of a field in conflict.")
class MergeValue:
    customer_id: strawberry.ID
    value: JSON | None


@strawberry.type(description="A field the customers disagree on, and which value wins why.")
class MergeConflict:
    field: str = strawberry.field(description="The field's API name, e.g. email or address.")
    primary_value: JSON | None
    duplicate_values: list[MergeValue] = strawberry.field(
        description="Each duplicate's value, the most recently updated duplicate first."
    )
    value: JSON | None = strawberry.field(description="The value the merged record gets.")
    chosen_from: strawberry.ID = strawberry.field(description="Whose value wins.")
    rule: MergeRule

    @classmethod
    def of(cls, conflict: merges.Conflict, merged: dict[str, Any]) -> MergeConflict:
        name = conflict.field
        values = [MergeValue(customer_id=to_global_id("Customer", pk), value=_json(name, v))
                  for pk, v in conflict.values]
        chosen = merges.value_of(merged, name)
        return cls(
            field=API_NAMES.get(name, name), primary_value=values[0].value,
            duplicate_values=values[1:], value=_json(name, chosen),
            chosen_from=to_global_id("Customer", conflict.chosen_id),
            rule=MergeRule(conflict.rule),
        )


@strawberry.type(description="What moves to the primary (or is dropped) in a merge.")
class MergeMoves:
    interactions: int
    orders: int
    email_messages: int
    email_messages_kept: int = strawberry.field(
        description="Campaign messages left with their absorbed customer: a campaign emails a "
        "customer once, and the primary already has one of that campaign."
    )
    email_suppressions: int
    predictions_dropped: int

    @classmethod
    def of(cls, moves: dict[str, int]) -> MergeMoves:
        return cls(**moves)


@strawberry.type(description="The primary's record as a merge would leave it.")
class MergedCustomer:
    id: strawberry.ID
    kind: CustomerKind
    name: str
    email: str | None
    phone: str | None
    company: str | None
    address: Address
    stage: LifecycleStage
    tags: list[str]
    custom_fields: JSON
    external_ref: str | None
    email_opt_out: bool
    owner_id: strawberry.ID | None

    @classmethod
    def from_row(cls, row: Row) -> MergedCustomer:
        customer = Customer.from_row(row)
        return cls(
            id=customer.id, kind=customer.kind, name=customer.name, email=customer.email,
            phone=customer.phone, company=customer.company, address=customer.address,
            stage=customer.stage, tags=customer.tags, custom_fields=customer.custom_fields,
            external_ref=customer.external_ref, email_opt_out=customer.email_opt_out,
            owner_id=_json("owner_id", row["owner_id"]),
        )


@strawberry.type(description=f"What mergeCustomers would do now. {POLICY}")
class MergePreview:
    merged: MergedCustomer
    conflicts: list[MergeConflict]
    moves: MergeMoves

    @classmethod
    def of(cls, plan: merges.Plan) -> MergePreview:
        return cls(
            merged=MergedCustomer.from_row(plan.merged),
            conflicts=[MergeConflict.of(c, plan.merged) for c in plan.conflicts],
            moves=MergeMoves.of(plan.moves),
        )


@strawberry.input(description="Take this field's value from this customer.")
class MergeOverride:
    field: MergeField
    from_id: strawberry.ID = strawberry.field(description="The primary or one of the duplicates.")


@strawberry.input(description=f"Customers to merge into a primary. {POLICY}")
class MergeCustomersInput:
    primary_id: strawberry.ID
    duplicate_ids: list[strawberry.ID] = strawberry.field(
        description=f"The customers absorbed: 1 to {merges.MAX_DUPLICATES}, live, not the primary."
    )
    overrides: list[MergeOverride] | None = None


@strawberry.type
class MergeCustomersPayload:
    customer: Customer | None = strawberry.field(default=None, description="The primary.")
    absorbed_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="The customers absorbed: now deleted, with mergedInto the primary.",
    )
    moves: MergeMoves | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
