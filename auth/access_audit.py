"""Audit events for reading personal data in bulk (mutations are audited by app/guards.py).

Who (the request's user or key), what (the action and its target) and how many records; the
event is written after the data was read, in its own statement: a failed read leaves no event.
"""

from __future__ import annotations

from typing import Any

from db import audit


def event(
    context: Any, action: str, *, target: tuple[str, int] | None = None, count: int | None = None
) -> audit.Event:
    """The audit event of ``action`` by this request's viewer."""
    viewer = getattr(context, "viewer", None)
    request = getattr(context, "request", None)
    client = getattr(request, "client", None)
    return audit.Event(
        organization_id=viewer.organization_id if viewer else None,
        action=action,
        actor_user_id=viewer.user_id if viewer else None,
        actor_api_key_id=viewer.api_key_id if viewer else None,
        target_type=target[0] if target else None,
        target_id=target[1] if target else None,
        request_id=getattr(context, "request_id", None),
        ip=getattr(client, "host", None),
        item_count=count,
    )


async def record(
    context: Any, action: str, *, target: tuple[str, int] | None = None, count: int | None = None
) -> None:
    """Append the audit event of ``action`` by this request's viewer (once per request)."""
    await audit.record_once(event(context, action, target=target, count=count))
