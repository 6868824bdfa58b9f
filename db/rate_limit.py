"""Rate limit budgets in PostgreSQL: one atomic statement reserves points in a principal's window.

A window starts at a principal's first reservation and lasts ``window_seconds``; a reservation
in a finished window starts a new one. Every reservation adds all the points it asked for, so
``used`` may pass the limit: what was granted is worked out from the total (``Reservation``).
"""

from __future__ import annotations

from dataclasses import dataclass

from db.sql import fetch

RESERVE = """
INSERT INTO rate_limit AS r (principal, used, window_ends_at)
VALUES ($1, $2, now() + make_interval(secs => $3))
ON CONFLICT (principal) DO UPDATE SET
    used = CASE WHEN r.window_ends_at <= now() THEN EXCLUDED.used ELSE r.used + EXCLUDED.used END,
    window_ends_at = CASE WHEN r.window_ends_at <= now()
                          THEN EXCLUDED.window_ends_at ELSE r.window_ends_at END
RETURNING used, ceil(extract(epoch FROM window_ends_at - now()) * 1000)::bigint AS reset_ms
"""


@dataclass(frozen=True)
class Reservation:
    """A principal's window after a reservation of ``asked`` points."""

    asked: int
    used: int  # points reserved in the window by every process, these included
    reset_ms: int  # until the window ends

    def granted(self, limit: int) -> int:
        """How many of the points asked for fit in a budget of ``limit`` per window."""
        before = self.used - self.asked
        return max(0, min(self.asked, limit - before))


async def reserve(principal: str, points: int, window_seconds: int) -> Reservation:
    """Add ``points`` to ``principal``'s current window (starting one if none is running).

    (``fetch``, not ``fetch_rows``: Tortoise drops the rows of statements starting with INSERT.)
    """
    [row] = await fetch(RESERVE, [principal, points, float(window_seconds)])
    return Reservation(asked=points, used=int(row["used"]), reset_ms=max(0, int(row["reset_ms"])))


async def delete_finished(older_than_seconds: float = 0.0) -> int:
    """Forget windows that ended more than ``older_than_seconds`` ago; how many were forgotten."""
    rows = await fetch(
        "WITH gone AS (DELETE FROM rate_limit"
        " WHERE window_ends_at < now() - make_interval(secs => $1) RETURNING 1)"
        " SELECT count(*) AS n FROM gone",
        [older_than_seconds],
    )
    return int(rows[0]["n"])
