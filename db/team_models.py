"""Tortoise models of team management: single-use links sent by email (invitations, resets).

Checks and indexes live in ``migrations/0021_team.py``.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from db.enums import Role
from db.models import Organization, User


class TokenPurpose(StrEnum):
    """What a link sent by email lets its holder do once."""

    INVITATION = "INVITATION"
    PASSWORD_RESET = "PASSWORD_RESET"  # noqa: S105 (a purpose, not a password)


class AccountToken(Model):
    """A single-use, expiring link (only its SHA-256 is stored): an invitation to join an
    organization with a role, or a password reset of one user."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "crm.Organization", related_name="account_tokens", on_delete=fields.RESTRICT
    )
    purpose = fields.CharEnumField(TokenPurpose, max_length=16)
    email = fields.CharField(max_length=254)
    # the role an invitation grants (null for resets)
    role = fields.CharEnumField(Role, max_length=16, null=True)
    # the user a reset is for, or who accepted an invitation
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name="account_tokens", null=True, on_delete=fields.SET_NULL
    )
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    organization_id: int
    user_id: int | None
    created_by_id: int | None

    class Meta:
        table = "account_token"
