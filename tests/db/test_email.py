"""Outbox data access: claims, leases, the per-organization rate limit, status changes, opt-outs."""

from __future__ import annotations

import asyncio

from db import email as emails
from db import outbox
from db.email_enums import EmailStatus, SuppressionReason
from db.email_models import EmailSuppression
from db.models import Customer, Interaction
from db.sql import fetch
from tests.email_helpers import email_row, email_settings, queue_email
from tests.factories import make_customer, make_org

PLENTY = outbox.RateLimit(per_second=10_000, burst=10_000)


async def _claim(org_id: int, limit: int = 100, rate: outbox.RateLimit = PLENTY,
                 worker: str = "w1") -> list[outbox.Claimed]:
    return await outbox.claim(org_id=org_id, limit=limit, lease_seconds=60, worker=worker,
                              rate=rate)


async def _queue_many(org, settings, n: int) -> list[dict]:
    return [await queue_email(email_settings(settings), await make_customer(org))
            for _ in range(n)]


async def test_queue_records_interaction_and_outbox_entry_together(org, settings) -> None:
    customer = await make_customer(org, email="Ada@Example.com")
    email = await queue_email(email_settings(settings), customer, subject="Welcome")
    interaction = await Interaction.get(id=email["interaction_id"])
    assert (interaction.channel, interaction.direction) == ("EMAIL", "OUTBOUND")
    assert interaction.subject == "Welcome"
    assert interaction.metadata["messageId"] == email["message_id"]
    row = await email_row(email["id"])
    assert row["status"] == "QUEUED"
    assert row["attempts"] == 0
    assert row["recipient"] == "Ada@Example.com"
    assert bytes(row["mime"]).startswith(b"From: Test Shop <shop@example.com>")


async def test_concurrent_claims_never_share_an_email(org, settings) -> None:
    queued = await _queue_many(org, settings, 30)
    batches = await asyncio.gather(*(_claim(org.id, 4, worker=f"w{i}") for i in range(8)))
    claimed = [item.id for batch in batches for item in batch]
    assert len(claimed) == len(set(claimed)) == 30
    assert set(claimed) == {e["id"] for e in queued}
    assert all(item.attempts == 1 for batch in batches for item in batch)
    assert await _claim(org.id) == []


async def test_expired_lease_makes_an_email_due_again(org, settings) -> None:
    [email] = await _queue_many(org, settings, 1)
    [first] = await _claim(org.id)
    assert await _claim(org.id) == []  # leased
    await fetch("UPDATE email_message SET available_at = now() - interval '1 second'"
                " WHERE id = $1", [email["id"]])
    [again] = await _claim(org.id, worker="w2")
    assert again.id == first.id
    assert again.message_id == first.message_id
    assert again.attempts == 2
    assert (await email_row(email["id"]))["locked_by"] == "w2"


async def test_rate_limit_is_per_organization(org, settings) -> None:
    other = await make_org()
    await _queue_many(org, settings, 8)
    await _queue_many(other, settings, 2)
    slow = outbox.RateLimit(per_second=0.001, burst=5)
    assert len(await _claim(org.id, rate=slow)) == 5  # the burst
    assert await _claim(org.id, rate=slow) == []  # no tokens left
    assert len(await _claim(other.id, rate=slow)) == 2  # others keep their own budget
    due = await outbox.organizations_with_due_email([org.id, other.id])
    assert due == [org.id]


async def test_status_changes_are_guarded_and_announced(org, settings) -> None:
    [email] = await _queue_many(org, settings, 1)
    heard: list[emails.StatusChange] = []

    async def listener(changes, conn) -> None:
        heard.extend(changes)

    emails.status_listeners.append(listener)
    try:
        await _claim(org.id)
        sent = await emails.set_status(email["id"], EmailStatus.SENT)
        assert sent is not None
        assert sent.sent_at is not None
        assert await emails.set_status(email["id"], EmailStatus.QUEUED, retry_in=0) is None
        assert await emails.set_status(email["id"], EmailStatus.FAILED, error="late") is None
        bounced = await emails.set_status(email["id"], EmailStatus.BOUNCED, error="550 gone")
    finally:
        emails.status_listeners.remove(listener)
    assert bounced is not None
    assert bounced.last_error == "550 gone"
    mine = [c.status for c in heard if c.email_id == email["id"]]
    assert mine == [EmailStatus.SENDING, EmailStatus.SENT, EmailStatus.BOUNCED]


async def test_retry_schedules_the_next_attempt(org, settings) -> None:
    [email] = await _queue_many(org, settings, 1)
    await _claim(org.id)
    await emails.set_status(email["id"], EmailStatus.QUEUED, error="421 busy", retry_in=3600)
    row = await email_row(email["id"])
    assert (row["status"], row["attempts"], row["last_error"]) == ("QUEUED", 1, "421 busy")
    assert await _claim(org.id) == []  # not due for an hour


async def test_idempotency_key_under_concurrency_queues_one_email(org, settings) -> None:
    customer = await make_customer(org)
    results = await asyncio.gather(*(
        queue_email(email_settings(settings), customer, idempotency_key="order-42-confirm")
        for _ in range(5)
    ))
    assert len({r["id"] for r in results}) == 1
    assert await Interaction.filter(customer_id=customer.id).count() == 1


async def test_unsubscribe_is_recorded_once(org) -> None:
    customer = await make_customer(org, email="Leaving@Example.com")
    for _ in range(2):
        assert await emails.unsubscribe(org_id=org.id, customer_id=customer.id) is not None
    await customer.refresh_from_db()
    assert customer.email_opt_out
    assert await emails.is_suppressed(org_id=org.id, email="leaving@example.com")
    suppression = await EmailSuppression.get(organization_id=org.id)
    assert suppression.reason == SuppressionReason.UNSUBSCRIBED
    notes = await Interaction.filter(customer_id=customer.id).values_list("subject", flat=True)
    assert notes == ["Unsubscribed"]
    other = await make_org()
    assert await emails.unsubscribe(org_id=other.id, customer_id=customer.id) is None
    assert not await emails.is_suppressed(org_id=other.id, email="leaving@example.com")


async def test_customer_without_address_can_still_opt_out(org) -> None:
    customer = await make_customer(org, email=None)
    await emails.unsubscribe(org_id=org.id, customer_id=customer.id)
    assert (await Customer.get(id=customer.id)).email_opt_out
