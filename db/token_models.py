"""Tortoise models of sign-in security: rotating refresh tokens and login throttling."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from db.models import User


class RefreshToken(Model):
    """One refresh token (only its SHA-256 is stored); a family is one chain of rotations."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "crm.User", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    family = fields.UUIDField()
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True, description="rotated: exchanged for a new token")
    revoked_at = fields.DatetimeField(null=True)

    user_id: int

    class Meta:
        table = "refresh_token"


class LoginThrottle(Model):
    """Recent failed sign-ins of one email (keyed by its keyed hash) or one client IP."""

    key = fields.CharField(max_length=80, primary_key=True)
    failures = fields.IntField(default=0)
    last_failure_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)

    class Meta:
        table = "login_throttle"
