"""Single-use links sent by email (invitations, password resets): stored as hashes, used once
atomically, superseded by a newer link to the same address."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.enums import Role
from db.pagination import Sort, Source
from db.sql import Params, client, fetch_one
from db.team_models import TokenPurpose

COLUMNS = (
    "id, organization_id, purpose, email, role, user_id, created_by_id, expires_at, used_at,"
    " created_at"
)
INVITATION_SORT = Sort("CREATED_AT_DESC", "t.created_at", "datetime", descending=True)
# an invitation whose link still works
_PENDING = "t.purpose = 'INVITATION' AND t.used_at IS NULL AND t.expires_at > now()"


async def create(
    *, org_id: int, purpose: TokenPurpose, email: str, token_hash: str, expires_at: datetime,
    role: Role | None = None, user_id: int | None = None, created_by_id: int | None = None,
    using: BaseDBAsyncClient | None = None,
) -> dict[str, Any]:
    """Store a new link; earlier unused links of the same purpose and address stop working."""
    await client(using).execute_query(
        "UPDATE account_token SET used_at = now() WHERE organization_id = $1 AND purpose = $2"
        " AND lower(email) = lower($3) AND used_at IS NULL",
        [org_id, purpose.value, email],
    )
    row = await fetch_one(
        "INSERT INTO account_token (organization_id, purpose, email, role, user_id,"
        " created_by_id, token_hash, expires_at, created_at)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now()) RETURNING {COLUMNS}",
        [org_id, purpose.value, email, role.value if role else None, user_id, created_by_id,
         token_hash, expires_at], using,
    )
    assert row is not None
    return row


async def use(
    *, purpose: TokenPurpose, token_hash: str, using: BaseDBAsyncClient | None = None
) -> dict[str, Any] | None:
    """Spend a live link (exactly once, even under races); None if it is unknown, used,
    superseded or expired."""
    return await fetch_one(
        "UPDATE account_token SET used_at = now() WHERE token_hash = $1 AND purpose = $2"
        f" AND used_at IS NULL AND expires_at > now() RETURNING {COLUMNS}",
        [token_hash, purpose.value], using,
    )


def pending_invitations(org_id: int) -> Source:
    """The organization's invitations whose links still work (not accepted, revoked,
    superseded or expired)."""
    params = Params()
    where = f"t.organization_id = {params.add(org_id)} AND {_PENDING}"
    return Source("account_token", ", ".join(f"t.{c.strip()}" for c in COLUMNS.split(",")),
                  where, params)


async def revoke_invitation(*, org_id: int, token_id: int) -> dict[str, Any] | None:
    """Make a pending invitation's link stop working now; None if there is no pending one."""
    return await fetch_one(
        f"UPDATE account_token t SET used_at = now() WHERE t.id = $1 AND t.organization_id = $2"
        f" AND {_PENDING} RETURNING {COLUMNS}", [token_id, org_id],
    )


async def accepted_by(*, token_id: int, user_id: int, using: BaseDBAsyncClient) -> None:
    """Remember which user an invitation made."""
    await client(using).execute_query(
        "UPDATE account_token SET user_id = $2 WHERE id = $1", [token_id, user_id]
    )


async def sent_recently(*, purpose: TokenPurpose, email: str, seconds: float) -> bool:
    """Whether a link of ``purpose`` went to this address within the last ``seconds``."""
    row = await fetch_one(
        "SELECT 1 AS x FROM account_token WHERE purpose = $1 AND lower(email) = lower($2)"
        " AND created_at > now() - make_interval(secs => $3::float8) LIMIT 1",
        [purpose.value, email, seconds],
    )
    return row is not None
