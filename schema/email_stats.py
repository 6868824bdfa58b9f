"""Email outcomes in the API: outbound emails by delivery status, and opt-outs."""

from __future__ import annotations

from typing import Any

import strawberry


@strawberry.type(description="Outbound emails created in the window, by delivery status.")
class EmailStats:
    queued: int
    sending: int
    sent: int
    failed: int
    bounced: int
    opted_out: int = strawberry.field(
        description="Live customers who opted out of email now (whatever the window)."
    )

    @classmethod
    def from_counts(cls, counts: dict[str, Any]) -> EmailStats:
        """The API object of db/email_stats.py's outcomes."""
        by = counts["by_status"]
        return cls(queued=by["QUEUED"], sending=by["SENDING"], sent=by["SENT"],
                   failed=by["FAILED"], bounced=by["BOUNCED"], opted_out=counts["opted_out"])
