"""The team as ADMINs manage it: users by page, role changes, deactivation, passwords,
preferences, and the organization's settings. Changes that must reach every server process at
once (a deactivation, a role change) are announced on ``USER_CHANNEL`` when they commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import org_settings
from db.enums import Role
from db.pagination import Sort, Source
from db.sql import Params, client, fetch, fetch_one, violated_constraint
from db.user import COLUMNS, slugify
from db.validation import Cleaner

USER_CHANNEL = "crm_user_changes"  # payload: the id of a user whose access changed
MEMBER_COLUMNS = f"{COLUMNS}, t.task_digest"
ORGANIZATION_COLUMNS = "id, name, slug, currency, time_zone, locale, created_at"
SORTS = {
    s.name: s
    for s in (
        Sort("EMAIL_ASC", "lower(t.email)", "text", descending=False),
        Sort("CREATED_AT_DESC", "t.created_at", "datetime", descending=True),
    )
}


@dataclass(frozen=True)
class UserFilter:
    """Which users to list; every given condition must hold."""

    roles: Sequence[Role] = ()
    active: bool | None = None


def source(org_id: int, f: UserFilter) -> Source:
    """The organization's users matching ``f``."""
    params = Params()
    where = [f"t.organization_id = {params.add(org_id)}"]
    if f.roles:
        where.append(f"t.role = ANY({params.add([r.value for r in f.roles])}::text[])")
    if f.active is not None:
        where.append(f"t.is_active = {params.add(f.active)}")
    return Source("app_user", MEMBER_COLUMNS, " AND ".join(where), params)


def last_admin(field: Sequence[str]) -> InputError:
    """The error of a change that would leave no active ADMIN to manage the organization."""
    return InputError([FieldError(
        ErrorCode.LAST_ADMIN, tuple(field),
        "the organization's last active ADMIN cannot be demoted or deactivated;"
        " make another user ADMIN first",
    )])


async def _locked(conn: BaseDBAsyncClient, org_id: int, user_id: int) -> dict[str, Any] | None:
    return await fetch_one(
        f"SELECT {MEMBER_COLUMNS} FROM app_user t WHERE t.id = $1 AND t.organization_id = $2"
        " FOR UPDATE", [user_id, org_id], conn,
    )


async def _keep_an_admin(
    conn: BaseDBAsyncClient, org_id: int, user: dict[str, Any], field: Sequence[str]
) -> None:
    """Refuse to take ``user`` out of the active ADMINs if no other would remain.

    The active ADMINs are locked in id order, so two ADMINs stepping down at once take turns
    and the second sees the first's change."""
    if user["role"] != Role.ADMIN or not user["is_active"]:
        return
    admins = await fetch(
        "SELECT id FROM app_user WHERE organization_id = $1 AND role = 'ADMIN' AND is_active"
        " ORDER BY id FOR UPDATE", [org_id], conn,
    )
    if not any(row["id"] != user["id"] for row in admins):
        raise last_admin(field)


async def _announce(conn: BaseDBAsyncClient, user_id: int) -> None:
    """Tell every server process (when the transaction commits) to forget cached viewers."""
    await client(conn).execute_query("SELECT pg_notify($1, $2)", [USER_CHANNEL, str(user_id)])


async def set_role(*, org_id: int, user_id: int, role: Role) -> dict[str, Any] | None:
    """Give a user another role; None if the organization has no such user."""
    async with in_transaction() as conn:
        user = await _locked(conn, org_id, user_id)
        if user is None:
            return None
        if role != Role.ADMIN:
            await _keep_an_admin(conn, org_id, user, ("role",))
        row = await fetch_one(
            f"UPDATE app_user t SET role = $2 WHERE t.id = $1 RETURNING {MEMBER_COLUMNS}",
            [user_id, role.value], conn,
        )
        await _announce(conn, user_id)
    return row


async def deactivate(*, org_id: int, user_id: int) -> dict[str, Any] | None:
    """Stop a user signing in: its refresh tokens and pending reset links are revoked with it
    (access tokens fail on their next request); None if there is no such user."""
    async with in_transaction() as conn:
        user = await _locked(conn, org_id, user_id)
        if user is None:
            return None
        await _keep_an_admin(conn, org_id, user, ("id",))
        row = await fetch_one(
            "UPDATE app_user t SET is_active = false, token_epoch = token_epoch + 1"
            f" WHERE t.id = $1 RETURNING {MEMBER_COLUMNS}",
            [user_id], conn,
        )
        await client(conn).execute_query(
            "UPDATE refresh_token SET revoked_at = now() WHERE user_id = $1"
            " AND revoked_at IS NULL", [user_id],
        )
        await client(conn).execute_query(
            "UPDATE account_token SET used_at = now() WHERE user_id = $1 AND used_at IS NULL"
            " AND purpose = 'PASSWORD_RESET'", [user_id],
        )
        await _announce(conn, user_id)
    return row


async def reactivate(*, org_id: int, user_id: int) -> dict[str, Any] | None:
    """Let a deactivated user sign in again (with its password; its old tokens stay refused:
    refresh tokens were revoked and access tokens belong to an ended epoch); None if there is
    no such user."""
    async with in_transaction() as conn:
        if await _locked(conn, org_id, user_id) is None:
            return None
        row = await fetch_one(
            f"UPDATE app_user t SET is_active = true WHERE t.id = $1 RETURNING {MEMBER_COLUMNS}",
            [user_id], conn,
        )
        await _announce(conn, user_id)
    return row


async def get_password_hash(user_id: int) -> str | None:
    """The stored hash of an active user's password."""
    row = await fetch_one(
        "SELECT password_hash FROM app_user WHERE id = $1 AND is_active", [user_id]
    )
    return str(row["password_hash"]) if row else None


async def set_password(
    *, user_id: int, password_hash: str, using: BaseDBAsyncClient | None = None
) -> dict[str, Any] | None:
    """Store a new password hash; every refresh token of the user is revoked (other sessions
    sign in again). The user's row, or None if it is not active."""
    row = await fetch_one(
        f"UPDATE app_user t SET password_hash = $2 WHERE t.id = $1 AND t.is_active"
        f" RETURNING {MEMBER_COLUMNS}", [user_id, password_hash], using,
    )
    if row is not None:
        await client(using).execute_query(
            "UPDATE refresh_token SET revoked_at = now() WHERE user_id = $1"
            " AND revoked_at IS NULL", [user_id],
        )
    return row


async def set_task_digest(*, user_id: int, enabled: bool) -> dict[str, Any] | None:
    """Turn the user's daily task digest on or off."""
    return await fetch_one(
        f"UPDATE app_user t SET task_digest = $2 WHERE t.id = $1 RETURNING {MEMBER_COLUMNS}",
        [user_id, enabled],
    )


async def get_member(user_id: int) -> dict[str, Any] | None:
    """A user with its preferences."""
    return await fetch_one(f"SELECT {MEMBER_COLUMNS} FROM app_user t WHERE t.id = $1", [user_id])


async def create_member(
    *, org_id: int, email: str, name: str, role: Role, password_hash: str
) -> dict[str, Any]:
    """A new active user; an address already in use anywhere is a DUPLICATE at ``email``
    (the insert runs in a savepoint of the caller's transaction, which stays usable)."""
    try:
        async with in_transaction() as conn:
            row = await fetch_one(
                "INSERT INTO app_user AS t (organization_id, email, name, password_hash, role,"
                " is_active, created_at) VALUES ($1, $2, $3, $4, $5, true, now())"
                f" RETURNING {MEMBER_COLUMNS}",
                [org_id, email, name, password_hash, role.value], conn,
            )
    except IntegrityError as exc:
        if violated_constraint(exc) != "app_user_email_uniq":
            raise
        raise InputError([FieldError(ErrorCode.DUPLICATE, ("email",),
                                     "a user with this email already exists")]) from None
    assert row is not None
    return row


async def email_in_use(email: str) -> bool:
    """Whether some user (of any organization) signs in with this address."""
    row = await fetch_one("SELECT 1 AS x FROM app_user WHERE lower(email) = lower($1)", [email])
    return row is not None


async def time_zone_known(name: str) -> bool:
    """Whether PostgreSQL knows this time zone too (digests compute local days with it)."""
    row = await fetch_one(
        "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1) AS known", [name]
    )
    return bool(row and row["known"])


async def organization_values(
    c: Cleaner, given: dict[str, Any], name_path: str = "name"
) -> dict[str, Any]:
    """The given organization settings (name, currency, time_zone, locale) checked and in
    canonical spelling; errors recorded in ``c`` (the name at ``name_path``)."""
    values: dict[str, Any] = {}
    if "name" in given:
        values["name"] = c.text(name_path, given["name"], 200, required=True)
    checks = {"currency": org_settings.currency, "time_zone": org_settings.time_zone,
              "locale": org_settings.locale}
    for key, check in checks.items():
        if key not in given:
            continue
        path = "timeZone" if key == "time_zone" else key
        try:
            values[key] = check(given[key] or "")
        except ValueError as exc:
            c.fail(path, str(exc))
    zone = values.get("time_zone")
    if zone is not None and not await time_zone_known(zone):
        c.fail("timeZone", f"{zone} is not known to the database's time zone data")
    return values


async def create_organization(
    *, values: dict[str, Any], using: BaseDBAsyncClient | None = None
) -> dict[str, Any] | None:
    """A new organization (its slug made from its name; the default pipeline comes with it);
    None if the slug is taken."""
    return await fetch_one(
        "INSERT INTO organization (name, slug, currency, time_zone, locale, created_at)"
        " VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (slug) DO NOTHING"
        f" RETURNING {ORGANIZATION_COLUMNS}",
        [values["name"], slugify(values["name"]), values.get("currency") or "USD",
         values.get("time_zone") or "UTC", values.get("locale") or "en-US"], using,
    )


async def get_organization(org_id: int) -> dict[str, Any] | None:
    """An organization's settings."""
    return await fetch_one(f"SELECT {ORGANIZATION_COLUMNS} FROM organization WHERE id = $1",
                           [org_id])


async def update_organization(*, org_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Change the given settings (name, currency, time_zone, locale) of an organization."""
    params = Params()
    sets = ", ".join(f"{key} = {params.add(value)}" for key, value in values.items())
    if not sets:
        row = await get_organization(org_id)
    else:
        row = await fetch_one(
            f"UPDATE organization SET {sets} WHERE id = {params.add(org_id)}"
            f" RETURNING {ORGANIZATION_COLUMNS}", params.values,
        )
    assert row is not None
    return row
