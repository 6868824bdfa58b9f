"""Email outcomes of an organization: outbound emails counted by delivery status, and opt-outs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from db.email_enums import EmailStatus
from db.sql import fetch, fetch_one, replica


async def outcomes(
    *, org_id: int, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    """Emails created in [since, until) per status (every status present, 0 when none), and
    how many live customers have opted out of email now."""
    rows = await fetch(
        "SELECT status, count(*) AS n FROM email_message WHERE organization_id = $1"
        " AND ($2::timestamptz IS NULL OR created_at >= $2)"
        " AND ($3::timestamptz IS NULL OR created_at < $3) GROUP BY status",
        [org_id, since, until], replica(),
    )
    counts = {status.value: 0 for status in EmailStatus}
    counts.update({row["status"]: row["n"] for row in rows})
    opted = await fetch_one(
        "SELECT count(*) AS n FROM customer WHERE organization_id = $1 AND email_opt_out"
        " AND deleted_at IS NULL", [org_id], replica(),
    )
    return {"by_status": counts, "opted_out": opted["n"] if opted else 0}
