"""Email to the organization's own users (invitations, password resets), through the same
outbox, workers, retries and SMTP path as customer email but recorded as no interaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from auth import account_links
from core.config import Settings
from core.errors import ErrorCode, FieldError, InputError
from db import account_token as links
from db import email as emails
from db import team, validation
from db import user as users
from db.email import StaffEmail
from db.email_enums import EmailKind
from db.enums import Role
from db.team_models import TokenPurpose
from services.email import mailer
from services.email.templates import text_to_html


def compose(
    settings: Settings, *, kind: EmailKind, user_id: int | None, recipient: str,
    name: str | None, subject: str, text: str,
) -> StaffEmail:
    """A plain message (text and its HTML rendering) to one user; no unsubscribe header."""
    _, sender = mailer.sender_address(settings)
    message_id = mailer.new_message_id(sender)
    mime = mailer.build(mailer.Outgoing(
        sender=sender, recipient=recipient, recipient_name=name, subject=subject, text=text,
        html=text_to_html(text), message_id=message_id,
    ), settings)
    return StaffEmail(kind=kind, user_id=user_id, recipient=recipient, sender=sender,
                      message_id=message_id, mime=mime)


def _address(value: str, field: str) -> str:
    try:
        return validation.email(value)
    except ValueError as exc:
        raise InputError([FieldError(ErrorCode.BAD_USER_INPUT, (field,), str(exc))]) from None


async def invite(
    settings: Settings, *, org_id: int, inviter_id: int | None, email: str, role: Role
) -> dict[str, Any]:
    """Send a single-use invitation to join the organization with ``role``; an earlier
    invitation of the same address stops working. Returns the invitation's row."""
    address = _address(email, "email")
    if await team.email_in_use(address):
        raise InputError([FieldError(ErrorCode.DUPLICATE, ("email",),
                                     "a user with this email already exists")])
    organization = await team.get_organization(org_id)
    inviter = await team.get_member(inviter_id) if inviter_id is not None else None
    assert organization is not None
    token, digest = account_links.new_token(account_links.INVITATION_PREFIX)
    expires_at = datetime.now(UTC) + timedelta(seconds=settings.invitation_ttl_seconds)
    who = (inviter["name"] or inviter["email"]) if inviter else "An administrator"
    text = (
        f"{who} invited you to join {organization['name']} as {role.value}.\n\n"
        f"Choose your name and password here:\n{account_links.link(settings, 'invitation', token)}"
        f"\n\nThe link works once and expires on {expires_at:%Y-%m-%d %H:%M} UTC.\n"
    )
    async with in_transaction() as conn:
        row = await links.create(
            org_id=org_id, purpose=TokenPurpose.INVITATION, email=address, role=role,
            token_hash=digest, expires_at=expires_at, created_by_id=inviter_id, using=conn,
        )
        await emails.queue_staff(org_id=org_id, using=conn, email=compose(
            settings, kind=EmailKind.INVITATION, user_id=None, recipient=address, name=None,
            subject=f"You are invited to {organization['name']}", text=text,
        ))
    return row


async def request_reset(settings: Settings, *, email: str) -> None:
    """Email a password reset link to the active user with this address, if there is one (and
    none went out within ``password_reset_interval_seconds``). The caller learns nothing."""
    try:
        address = validation.email(email)
    except ValueError:
        return
    user = await users.get_for_login(address)
    if user is None or not user["is_active"] or await links.sent_recently(
        purpose=TokenPurpose.PASSWORD_RESET, email=user["email"],
        seconds=settings.password_reset_interval_seconds,
    ):
        return
    token, digest = account_links.new_token(account_links.RESET_PREFIX)
    expires_at = datetime.now(UTC) + timedelta(seconds=settings.password_reset_ttl_seconds)
    text = (
        "Someone (we hope you) asked to reset your CRM password.\n\n"
        f"Choose a new password here:\n{account_links.link(settings, 'reset-password', token)}"
        f"\n\nThe link works once and expires on {expires_at:%Y-%m-%d %H:%M} UTC. If you did"
        " not ask for it, ignore this email: your password stays as it is.\n"
    )
    async with in_transaction() as conn:
        await links.create(
            org_id=user["organization_id"], purpose=TokenPurpose.PASSWORD_RESET,
            email=user["email"], user_id=user["id"], token_hash=digest, expires_at=expires_at,
            using=conn,
        )
        await emails.queue_staff(org_id=user["organization_id"], using=conn, email=compose(
            settings, kind=EmailKind.PASSWORD_RESET, user_id=user["id"],
            recipient=user["email"], name=user["name"] or None,
            subject="Reset your CRM password", text=text,
        ))
