"""A person's own account: accepting an invitation, signing up a new organization (when the
server allows it), resetting and changing a password.

Links are spent atomically in the same transaction as what they do, so a link works once even
under races, and a failure writes nothing. Bad links count against the client IP like failed
sign-ins (``auth.login_throttle``).
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from auth import account_links, login_throttle, passwords
from auth.identity import hash_password
from core.config import Settings
from core.errors import AppError, ErrorCode, FieldError, InputError
from db import account_token as links
from db import team
from db import user as users
from db.enums import Role
from db.team_models import TokenPurpose
from db.validation import Cleaner
from db.validation import email as valid_email


class _Spent(Exception):
    """The link was unknown, used, superseded or expired."""


def _bad_link(what: str) -> InputError:
    return InputError([FieldError(
        ErrorCode.BAD_USER_INPUT, ("token",),
        f"this {what} link is invalid, was already used or has expired; ask for a new one",
    )])


async def accept_invitation(
    settings: Settings, *, token: str, name: str, password: str, ip: str | None
) -> dict[str, Any]:
    """Create the invited user with this name and password; the invitation is used up."""
    await login_throttle.check_link_attempt(ip, settings)
    c = Cleaner(prefix=())
    clean_name = c.text("name", name, 200, required=True) or ""
    problem = passwords.problem(password)
    if problem:
        c.fail("password", problem)
    c.raise_if_any()
    digest = account_links.hash_of(token, account_links.INVITATION_PREFIX)
    try:
        async with in_transaction() as conn:
            link = await links.use(
                purpose=TokenPurpose.INVITATION, token_hash=digest, using=conn
            ) if digest else None
            if link is None:
                raise _Spent
            user = await team.create_member(
                org_id=link["organization_id"], email=link["email"], name=clean_name,
                role=Role(link["role"]), password_hash=hash_password(password),
            )
            await links.accepted_by(token_id=link["id"], user_id=user["id"], using=conn)
    except _Spent:
        await login_throttle.record_link_failure(ip, settings)
        raise _bad_link("invitation") from None
    except InputError as exc:  # the address signed up meanwhile: the invitation stays unused
        raise InputError([FieldError(e.code, ("token",), e.message) for e in exc.errors]) from None
    return user


async def sign_up(
    settings: Settings, *, organization: dict[str, Any], email: str, name: str, password: str,
    ip: str | None,
) -> dict[str, Any]:
    """A new organization (name, and optionally currency, time_zone, locale) with its first
    user, an ADMIN with this email, name and password; both or neither are written. Only when
    ``CRM_SIGNUP_ENABLED`` is on (FORBIDDEN otherwise); a locked-out IP is refused."""
    if not settings.signup_enabled:
        raise AppError(ErrorCode.FORBIDDEN, "sign-up is turned off on this server"
                       " (CRM_SIGNUP_ENABLED); ask its operator for an organization")
    await login_throttle.check_link_attempt(ip, settings)
    c = Cleaner()
    values = await team.organization_values(c, organization, name_path="organizationName")
    address = c.apply("email", email, valid_email)
    clean_name = c.text("name", name, 200, required=True) or ""
    problem = passwords.problem(password)
    if problem:
        c.fail("password", problem)
    if address and await team.email_in_use(address):
        c.fail("email", "a user with this email already exists", ErrorCode.DUPLICATE)
    c.raise_if_any()
    async with in_transaction() as conn:
        org = await team.create_organization(values=values, using=conn)
        if org is None:
            raise InputError([FieldError(ErrorCode.DUPLICATE, ("input", "organizationName"),
                                         "an organization with this name already exists")])
        try:
            return await team.create_member(
                org_id=org["id"], email=address, name=clean_name, role=Role.ADMIN,
                password_hash=hash_password(password))
        except InputError as exc:  # the address signed up meanwhile
            raise InputError([FieldError(e.code, ("input", *e.field), e.message)
                              for e in exc.errors]) from None


async def reset_password(
    settings: Settings, *, token: str, password: str, ip: str | None
) -> dict[str, Any]:
    """Set a new password with a reset link; the user's other sessions are signed out."""
    await login_throttle.check_link_attempt(ip, settings)
    passwords.check(password)
    digest = account_links.hash_of(token, account_links.RESET_PREFIX)
    try:
        async with in_transaction() as conn:
            link = await links.use(
                purpose=TokenPurpose.PASSWORD_RESET, token_hash=digest, using=conn
            ) if digest else None
            user = await team.set_password(
                user_id=link["user_id"], password_hash=hash_password(password), using=conn
            ) if link and link["user_id"] else None
            if user is None:  # a deactivated user's links stop working too
                raise _Spent
    except _Spent:
        await login_throttle.record_link_failure(ip, settings)
        raise _bad_link("password reset") from None
    return user


async def change_password(
    settings: Settings, *, user_id: int, current: str, new: str, ip: str | None
) -> dict[str, Any]:
    """Replace a signed-in user's password after checking the current one (wrong guesses are
    throttled exactly like sign-ins); every refresh token of the user is revoked."""
    row = await users.get_active(user_id)
    if row is None:
        raise InputError([FieldError(ErrorCode.UNAUTHENTICATED, ("currentPassword",),
                                     "invalid email or password")])
    passwords.check(new, ("newPassword",))
    try:
        await login_throttle.login(row["email"], current, ip, settings)
    except AppError as exc:
        raise InputError([FieldError(exc.code, ("currentPassword",), exc.message)]) from None
    changed = await team.set_password(user_id=user_id, password_hash=hash_password(new))
    assert changed is not None
    return changed
