"""Helpers for email tests: settings pointing at a test SMTP server, queueing, running workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from core.config import Settings
from db.models import Customer
from db.sql import fetch, fetch_one
from services.email.outbox import Worker
from services.email.send import SendRequest, send_email

INBOUND_SECRET = "inbound-test-secret-0123456789"


def email_settings(base: Settings, port: int = 9, **overrides: Any) -> Settings:
    """Test settings: plain SMTP on loopback, fast retries and polls, no practical rate limit."""
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_tls": "none",
        "smtp_from": "Test Shop <shop@example.com>", "smtp_timeout_seconds": 5.0,
        "public_base_url": "http://crm.test", "inbound_email_secret": INBOUND_SECRET,
        "email_retry_base_seconds": 0.05, "email_retry_max_seconds": 0.2,
        "email_poll_seconds": 0.05, "email_rate_per_second": 10_000.0,
        "email_rate_burst": 10_000, "email_lease_seconds": 60.0, "email_max_attempts": 5,
        # reminders and digests are tested where they are meant (tests/services/email/
        # test_digest.py): elsewhere other tests' tasks must not add email to a test's sink
        "task_reminders": False,
    }
    return base.model_copy(update=values | overrides)


async def queue_email(settings: Settings, customer: Customer, **request: Any) -> dict[str, Any]:
    """Queue an email to ``customer`` as the service would for ``sendEmail``."""
    values: dict[str, Any] = {"subject": "Hello", "text": "Hello there.\n"}
    return await send_email(
        settings, org_id=customer.organization_id, user_id=None,
        request=SendRequest(customer_id=customer.id, **(values | request)),
    )


async def email_row(email_id: int) -> dict[str, Any]:
    """The outbox row of an email."""
    row = await fetch_one("SELECT * FROM email_message WHERE id = $1", [email_id])
    assert row is not None
    return row


async def wait_until(check: Callable[[], Any], seconds: float = 20) -> Any:
    """Poll ``check()`` (an awaitable factory) until it returns something truthy."""
    async with asyncio.timeout(seconds):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.02)


async def wait_status(email_id: int, *statuses: str, seconds: float = 20) -> dict[str, Any]:
    """The email's row once its status is one of ``statuses``."""
    async def check() -> dict[str, Any] | None:
        row = await email_row(email_id)
        return row if row["status"] in statuses else None

    result: dict[str, Any] = await wait_until(check, seconds)
    return result


async def statuses(org_id: int) -> dict[str, int]:
    """How many of the organization's emails are in each status."""
    rows = await fetch(
        "SELECT status, count(*) AS n FROM email_message WHERE organization_id = $1"
        " GROUP BY status", [org_id],
    )
    return {row["status"]: row["n"] for row in rows}


@asynccontextmanager
async def running_worker(
    settings: Settings, org_ids: Sequence[int], **options: Any
) -> AsyncIterator[Worker]:
    """A worker working on the given organizations for the block's duration."""
    worker = Worker(settings, org_ids=org_ids, **options)
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, timeout=30)


async def make_template(org: Any, **overrides: Any) -> dict[str, Any]:
    """A stored email template of ``org``."""
    from db import email_templates
    from services.email.templates import syntax_error

    values: dict[str, Any] = {
        "name": f"Template {id(overrides)}-{len(overrides)}-{asyncio.get_running_loop().time()}",
        "subject": "Hello {{ customer.name }}", "text": "Dear {{ customer.name }},\nhi.",
    }
    return await email_templates.create(
        org_id=org.id, data=values | overrides, syntax_error=syntax_error
    )
