"""Data-subject requests and privacy settings in the API."""

from __future__ import annotations

import strawberry

from core.errors import ErrorCode, FieldError, InputError
from db.sql import Row
from db.user import pii_roles
from schema.customer import Customer
from schema.enums import Role
from schema.errors import UserError

MAX_PERSONAL_FIELDS = 100
MAX_KEY_LENGTH = 100


@strawberry.type
class EraseCustomerPayload:
    customer: Customer | None = strawberry.field(
        default=None, description="The anonymised, deleted record that remains for accounting."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="Who in the organization reads personal data unmasked.")
class PrivacySettings:
    pii_roles: list[Role] = strawberry.field(
        description="Roles whose users read personal data (ADMIN always does; by default "
        "also MANAGER and AGENT). Other users see contact data, personal custom fields, "
        "message bodies and the addresses in interaction metadata masked."
    )
    personal_custom_fields: list[str] = strawberry.field(
        description="Keys of customers' custom fields that hold personal data (masked)."
    )

    @classmethod
    def from_row(cls, row: Row) -> PrivacySettings:
        roles = pii_roles(row["pii_roles"])
        return cls(
            pii_roles=[role for role in Role if role in roles],
            personal_custom_fields=list(row["personal_custom_fields"] or ()),
        )


@strawberry.input(description="Privacy settings to change; fields left out keep their value.")
class UpdatePrivacySettingsInput:
    pii_roles: list[Role] | None = strawberry.field(
        default=None, description="Roles that read personal data (ADMIN is always added)."
    )
    personal_custom_fields: list[str] | None = strawberry.field(
        default=None, description=f"At most {MAX_PERSONAL_FIELDS} custom-field keys."
    )

    def validated(self) -> tuple[list[str] | None, list[str] | None]:
        """The roles and keys to store; InputError names each bad key by its index."""
        errors = []
        for n, key in enumerate(self.personal_custom_fields or ()):
            if not key.strip() or len(key) > MAX_KEY_LENGTH:
                errors.append(FieldError(
                    ErrorCode.BAD_USER_INPUT, ("input", "personalCustomFields", str(n)),
                    f"a custom-field key has 1 to {MAX_KEY_LENGTH} characters",
                ))
        if len(self.personal_custom_fields or ()) > MAX_PERSONAL_FIELDS:
            errors.append(FieldError(
                ErrorCode.BAD_USER_INPUT, ("input", "personalCustomFields"),
                f"at most {MAX_PERSONAL_FIELDS} keys",
            ))
        if errors:
            raise InputError(errors)
        roles = None
        if self.pii_roles is not None:
            given = {Role(r) for r in self.pii_roles} | {Role.ADMIN}
            roles = [role.value for role in Role if role in given]
        keys = None
        if self.personal_custom_fields is not None:
            keys = sorted(set(self.personal_custom_fields))
        return roles, keys


@strawberry.type
class PrivacySettingsPayload:
    privacy_settings: PrivacySettings | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
