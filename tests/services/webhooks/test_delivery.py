"""Webhook delivery to a real receiver on loopback: signatures, retries, breaker, replay."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.config import Settings
from db import webhook as webhooks
from db.sql import fetch
from services.webhooks import signature as webhook_signature
from services.webhooks.delivery import Worker, retry_after_seconds
from tests.factories import gid, make_customer, make_org
from tests.webhook_receiver import (
    SECRET,
    Receiver,
    Reply,
    deliveries_of,
    logged,
    make_due,
    make_webhook,
)


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "webhook_allow_private": True, "webhook_max_attempts": 4,
        "webhook_read_timeout_seconds": 0.5, "webhook_total_timeout_seconds": 1.0,
        "webhook_lease_seconds": 30.0, "webhook_circuit_failures": 3,
        "webhook_disable_after_failures": 1000,
    })


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver(SECRET) as r:
        yield r


async def _setup(receiver: Receiver, **hook: Any) -> tuple[Any, int]:
    org = await make_org()
    return org, await make_webhook(org.id, url=receiver.url, **hook)


_made: list[Worker] = []


def _worker(settings: Settings, org_id: int) -> Worker:
    worker = Worker(settings, org_ids=[org_id])
    _made.append(worker)
    return worker


@pytest.fixture(autouse=True)
async def _close_workers() -> AsyncIterator[None]:
    yield
    while _made:
        await _made.pop().close()


async def test_signed_delivery_with_documented_headers_and_body(hook_settings, receiver) -> None:
    org, hook = await _setup(receiver)
    customer = await make_customer(org, name="Ada")
    assert await _worker(hook_settings, org.id).run_once() == 1
    (request,) = receiver.requests
    assert request.verified
    webhook_signature.verify(SECRET, request.headers, request.body)
    body = request.json()
    (event,) = await logged(org.id)
    assert body["type"] == "customer.created"
    assert body["sequence"] == 1
    assert body["object"] == {"type": "Customer", "id": gid(customer)}
    assert body["data"]["after"]["name"] == "Ada"
    assert body["actor"] == "system"
    assert request.headers["crm-webhook-id"] == body["id"]
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("CRM-Webhooks/")
    (delivery,) = await deliveries_of(hook)
    assert (delivery["status"], delivery["http_status"], delivery["attempt"]) == (
        "DELIVERED", 200, 1)
    assert delivery["delivered_at"] is not None
    assert delivery["duration_ms"] is not None
    assert event["id"] == delivery["event_id"]


async def test_nothing_lost_between_commit_and_a_worker_starting(
    hook_settings, receiver, database_url
) -> None:
    org, _ = await _setup(receiver)
    customers = [await make_customer(org) for _ in range(3)]  # committed, no worker running
    # and one a worker claimed, then died holding (its lease has run out)
    await fetch("UPDATE webhook_delivery SET status = 'SENDING', attempt = 1, locked_by = 'dead',"
                " next_attempt_at = now() - interval '1 second' WHERE organization_id = $1"
                " AND id = (SELECT min(id) FROM webhook_delivery WHERE organization_id = $1)",
                [org.id])
    worker = Worker(hook_settings, database_url=database_url, org_ids=[org.id])
    task = asyncio.create_task(worker.run())
    try:
        requests = await receiver.wait_for(3)
    finally:
        worker.stop()
        await task
    assert sorted(r.json()["object"]["id"] for r in requests) == sorted(
        gid(c) for c in customers)


async def test_a_worker_wakes_on_notify(hook_settings, receiver, database_url) -> None:
    org, _ = await _setup(receiver)
    slow_poll = hook_settings.model_copy(update={"webhook_poll_seconds": 60.0})
    worker = Worker(slow_poll, database_url=database_url, org_ids=[org.id])
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.listening.wait(), 5)
        await asyncio.sleep(0.1)  # the first (empty) pass is done; the worker sleeps
        await make_customer(org)
        await receiver.wait_for(1, within=5)
    finally:
        worker.stop()
        await task


async def test_500_and_timeout_are_retried_until_success(hook_settings, receiver) -> None:
    org, hook = await _setup(receiver)
    await make_customer(org)
    receiver.script(Reply(status=500, body=b"boom"), Reply(delay=2.0))
    worker = _worker(hook_settings, org.id)
    await worker.run_once()
    (first,) = await deliveries_of(hook)
    assert (first["status"], first["http_status"], first["attempt"]) == ("PENDING", 500, 1)
    assert first["error"] == "HTTP 500: boom"
    await make_due(hook)
    await worker.run_once()
    (second,) = await deliveries_of(hook)
    assert (second["status"], second["http_status"], second["attempt"]) == ("PENDING", None, 2)
    assert second["error"].startswith("timeout")
    await make_due(hook)
    await worker.run_once()
    (done,) = await deliveries_of(hook)
    assert (done["status"], done["http_status"], done["attempt"]) == ("DELIVERED", 200, 3)
    ids = {r.headers["crm-webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 3
    assert len(ids) == 1
    assert all(r.verified for r in receiver.requests)


async def test_gives_up_after_max_attempts(hook_settings, receiver) -> None:
    org, hook = await _setup(receiver)
    await make_customer(org)
    receiver.default = Reply(status=503)
    worker = _worker(hook_settings.model_copy(update={"webhook_circuit_failures": 100}), org.id)
    for _ in range(hook_settings.webhook_max_attempts):
        await worker.run_once()
        await make_due(hook)
    (delivery,) = await deliveries_of(hook)
    assert (delivery["status"], delivery["attempt"]) == ("FAILED", 4)


async def test_retry_after_is_honoured(hook_settings, receiver) -> None:
    org, hook = await _setup(receiver)
    await make_customer(org)
    receiver.script(Reply(status=429, headers={"Retry-After": "120"}))
    await _worker(hook_settings, org.id).run_once()
    row = (await fetch("SELECT EXTRACT(EPOCH FROM next_attempt_at - now())::float8 AS wait,"
                       " status FROM webhook_delivery WHERE webhook_id = $1", [hook]))[0]
    assert row["status"] == "PENDING"
    assert 115 <= row["wait"] <= 121


def test_retry_after_forms_and_cap() -> None:
    assert retry_after_seconds("30", 3600) == 30
    assert retry_after_seconds("99999", 3600) == 3600
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 3600) == 0
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 85 <= (retry_after_seconds(later, 3600) or 0) <= 90
    assert retry_after_seconds("soon", 3600) is None


async def test_client_errors_fail_at_once(hook_settings, receiver) -> None:
    org, hook = await _setup(receiver)
    await make_customer(org)
    receiver.script(Reply(status=410, body=b"gone" * 1000))
    await _worker(hook_settings, org.id).run_once()
    (delivery,) = await deliveries_of(hook)
    assert (delivery["status"], delivery["http_status"], delivery["attempt"]) == (
        "FAILED", 410, 1)
    assert delivery["error"].startswith("HTTP 410: gone")
    assert len(delivery["error"]) <= 1000


async def test_circuit_opens_then_half_opens_with_one_probe(hook_settings, receiver) -> None:
    org, hook = await _setup(receiver)
    for _ in range(6):
        await make_customer(org)
    receiver.default = Reply(status=500)
    worker = _worker(hook_settings.model_copy(update={"webhook_concurrency": 3}), org.id)
    await worker.run_once()  # three failures in a row: the circuit opens
    row = await webhooks.get(org_id=org.id, webhook_id=hook)
    assert row is not None
    assert row["consecutive_failures"] == 3
    assert row["circuit_open_until"] is not None
    await fetch("UPDATE webhook_delivery SET next_attempt_at = now() WHERE webhook_id = $1",
                [hook])
    assert await worker.run_once() == 0  # open: nothing is claimed though all are due
    await make_due(hook)  # the cool-down is over: half-open
    assert await worker.run_once() == 1  # exactly one probe
    opened_again = await webhooks.get(org_id=org.id, webhook_id=hook)
    assert opened_again is not None
    assert opened_again["circuit_trips"] == 2
    assert opened_again["circuit_open_until"] > row["circuit_open_until"]  # longer cool-down
    receiver.default = Reply(status=200)
    await make_due(hook)
    assert await worker.run_once() == 1  # the probe succeeds and closes the circuit
    closed = await webhooks.get(org_id=org.id, webhook_id=hook)
    assert closed is not None
    assert (closed["circuit_open_until"], closed["consecutive_failures"]) == (None, 0)
    assert closed["last_success_at"] is not None
    assert await worker.run_once() == 3  # everything else flows again
    statuses = [d["status"] for d in await deliveries_of(hook)]
    assert statuses.count("DELIVERED") == 4


async def test_long_failure_streak_disables_the_webhook(hook_settings, receiver) -> None:
    org, hook = await _setup(receiver)
    await make_customer(org)
    await make_customer(org)
    receiver.default = Reply(status=500)
    strict = hook_settings.model_copy(update={
        "webhook_disable_after_failures": 2, "webhook_disable_after_seconds": 0.0,
        "webhook_circuit_failures": 100, "webhook_concurrency": 1})
    worker = _worker(strict, org.id)
    await worker.run_once()
    await make_due(hook)
    await worker.run_once()
    row = await webhooks.get(org_id=org.id, webhook_id=hook)
    assert row is not None
    assert row["enabled"] is False
    assert "2 consecutive failed deliveries" in row["disabled_reason"]
    await make_due(hook)
    assert await worker.run_once() == 0  # disabled: nothing goes out
    enabled = await webhooks.update(org_id=org.id, webhook_id=hook, changes={"enabled": True})
    assert enabled is not None
    assert (enabled["disabled_reason"], enabled["consecutive_failures"]) == (None, 0)


async def test_replay_resends_exactly_those_events_with_their_ids(hook_settings, receiver) -> None:
    org, hook = await _setup(receiver)
    for _ in range(5):
        await make_customer(org)
    worker = _worker(hook_settings, org.id)
    await worker.run_once()
    first = {r.json()["sequence"]: r.headers["crm-webhook-id"] for r in receiver.requests}
    queued = await webhooks.replay(org_id=org.id, webhook_id=hook, from_sequence=2,
                                   to_sequence=4)
    assert queued == 3
    await worker.run_once()
    again = receiver.requests[5:]
    assert sorted(r.json()["sequence"] for r in again) == [2, 3, 4]
    assert all(r.headers["crm-webhook-id"] == first[r.json()["sequence"]] for r in again)
    assert all(r.verified for r in again)


async def test_two_workers_racing_deliver_each_delivery_once(hook_settings, receiver) -> None:
    org, _ = await _setup(receiver)
    for _ in range(30):
        await make_customer(org)
    receiver.default = Reply(delay=0.01)
    wide = hook_settings.model_copy(update={"webhook_concurrency": 8})
    workers = [_worker(wide, org.id) for _ in range(2)]

    async def drain(worker: Worker) -> int:
        total = 0
        while handled := await worker.run_once():
            total += handled
        return total

    counts = await asyncio.gather(*(drain(w) for w in workers))
    assert sum(counts) == 30
    ids = [r.headers["crm-webhook-id"] for r in receiver.requests]
    assert len(ids) == 30
    assert len(set(ids)) == 30


async def test_rotation_signs_with_both_secrets(hook_settings, receiver) -> None:
    from datetime import UTC, datetime, timedelta

    org, hook = await _setup(receiver)
    await webhooks.rotate_secret(org_id=org.id, webhook_id=hook, secret="whsec_new_" + "n" * 30,
                                 overlap_until=datetime.now(UTC) + timedelta(hours=1))
    await make_customer(org)
    await _worker(hook_settings, org.id).run_once()
    (request,) = receiver.requests
    assert len(request.headers["crm-webhook-signature"].split()) == 2
    webhook_signature.verify(SECRET, request.headers, request.body)
    webhook_signature.verify("whsec_new_" + "n" * 30, request.headers, request.body)


async def test_a_private_address_is_refused_at_delivery_time(hook_settings, receiver) -> None:
    org, hook = await _setup(receiver)
    await make_customer(org)
    strict = hook_settings.model_copy(update={"webhook_allow_private": False})
    await _worker(strict, org.id).run_once()
    (delivery,) = await deliveries_of(hook)
    assert delivery["status"] == "FAILED"
    assert delivery["error"].startswith("refused")
    assert receiver.requests == []


async def test_commit_to_receipt_is_quick(hook_settings, receiver, database_url) -> None:
    org, _ = await _setup(receiver)
    worker = Worker(hook_settings, database_url=database_url, org_ids=[org.id])
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.listening.wait(), 5)
        started = time.time()
        await make_customer(org)
        (request,) = await receiver.wait_for(1, within=5)
    finally:
        worker.stop()
        await task
    assert request.at >= started
