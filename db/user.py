"""Organizations and their users."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from db.custom_field import PERSONAL_COMPANY_KEYS, PERSONAL_DEAL_KEYS
from db.enums import Role
from db.models import Organization, User
from db.sql import fetch, fetch_one

# Roles whose users read personal data unless their organization's ADMIN says otherwise;
# ADMIN always does (it could grant itself anyway).
DEFAULT_PII_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.AGENT})
COLUMNS = (
    "t.id, t.organization_id, t.email, t.name, t.role, t.is_active, t.created_at, t.token_epoch"
)


def slugify(name: str) -> str:
    """A URL-safe slug for an organization name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:100] or "org"


def pii_roles(names: Sequence[str] | None) -> frozenset[Role]:
    """The roles reading personal data, from an organization's stored list (None: default)."""
    if names is None:
        return DEFAULT_PII_ROLES
    known = {role.value: role for role in Role}
    return frozenset(known[n] for n in names if n in known) | {Role.ADMIN}


async def get_or_create_organization(
    name_or_slug: str, settings: dict[str, str] | None = None
) -> tuple[Organization, bool]:
    """The organization with this slug (or name), created (with ``settings``: currency,
    time_zone, locale) if there is none; and whether it was created."""
    slug = slugify(name_or_slug)
    return await Organization.get_or_create(
        slug=slug, defaults={"name": name_or_slug, **(settings or {})}
    )


async def get_organization(name_or_slug: str) -> Organization | None:
    """The organization with this slug (or name)."""
    return await Organization.get_or_none(slug=slugify(name_or_slug))


async def get_for_login(email: str) -> dict[str, Any] | None:
    """The user with this email (any case), with the password hash."""
    return await fetch_one(
        f"SELECT {COLUMNS}, t.password_hash FROM app_user t WHERE lower(t.email) = lower($1)",
        [email],
    )


async def get_active(user_id: int) -> dict[str, Any] | None:
    """An active user by id (what a token's subject must still be), with its organization's
    privacy settings (``pii_roles``, ``personal_custom_fields``) and the keys of its personal
    deal and company fields (``personal_deal_fields``, ``personal_company_fields``)."""
    return await fetch_one(
        f"SELECT {COLUMNS}, o.pii_roles, o.personal_custom_fields,"
        f" {PERSONAL_DEAL_KEYS} AS personal_deal_fields,"
        f" {PERSONAL_COMPANY_KEYS} AS personal_company_fields FROM app_user t"
        " JOIN organization o ON o.id = t.organization_id WHERE t.id = $1 AND t.is_active",
        [user_id],
    )


async def get_many(*, org_id: int, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The organization's users with these ids, keyed by id."""
    rows = await fetch(
        f"SELECT {COLUMNS} FROM app_user t WHERE t.organization_id = $1 AND t.id = ANY($2)",
        [org_id, list(ids)],
    )
    return {row["id"]: row for row in rows}


async def create(
    *, organization: Organization, email: str, password_hash: str, role: Role, name: str = ""
) -> User:
    """Create a user in ``organization``."""
    async with in_transaction() as conn:
        return await User.create(
            using_db=conn, organization=organization, email=email, name=name,
            password_hash=password_hash, role=role,
        )


async def record_login(user_id: int, password_hash: str | None = None) -> None:
    """Remember the time of a successful login (and a rehashed password, if any)."""
    values: dict[str, Any] = {"last_login_at": datetime.now(UTC)}
    if password_hash:
        values["password_hash"] = password_hash
    await User.filter(id=user_id).update(**values)


async def get_privacy(org_id: int) -> dict[str, Any]:
    """The organization's privacy settings: ``pii_roles`` and ``personal_custom_fields``
    (each None while the organization keeps the default)."""
    row = await fetch_one(
        "SELECT pii_roles, personal_custom_fields FROM organization WHERE id = $1", [org_id]
    )
    return row or {"pii_roles": None, "personal_custom_fields": None}


async def set_privacy(
    *, org_id: int, pii_roles: Sequence[str] | None, personal_custom_fields: Sequence[str] | None
) -> dict[str, Any]:
    """Change the settings given (None: keep that one); the settings as they now are."""
    row = await fetch_one(
        "UPDATE organization SET pii_roles = CASE WHEN $2 THEN $3 ELSE pii_roles END,"
        " personal_custom_fields = CASE WHEN $4 THEN $5 ELSE personal_custom_fields END"
        " WHERE id = $1 RETURNING pii_roles, personal_custom_fields",
        [org_id, pii_roles is not None, list(pii_roles or ()),
         personal_custom_fields is not None, list(personal_custom_fields or ())],
    )
    assert row is not None
    return row
