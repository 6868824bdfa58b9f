"""Short email leases: renewed while the worker lives, and no send ever outlasts its lease."""

from __future__ import annotations

import asyncio

from db.sql import fetch, fetch_one
from services.email.outbox import Worker
from services.email.outbox_lease import Leases
from tests.email_helpers import email_row, email_settings, queue_email, running_worker, statuses
from tests.email_helpers import wait_until as poll
from tests.factories import make_customer
from tests.smtp import silent_server, smtp_sink


async def _claim(email_id: int, worker: str) -> None:
    await fetch("UPDATE email_message SET status = 'SENDING', locked_by = $2,"
                " available_at = now() + interval '1 second' WHERE id = $1", [email_id, worker])


async def _lease_left(email_id: int) -> float:
    row = await fetch_one("SELECT EXTRACT(EPOCH FROM available_at - now())::float8 AS left"
                          " FROM email_message WHERE id = $1", [email_id])
    assert row is not None
    return float(row["left"])


async def test_renewal_extends_only_this_workers_leases(org, settings) -> None:
    config = email_settings(settings)
    mine, theirs, done = [await queue_email(config, await make_customer(org)) for _ in range(3)]
    for email, worker in ((mine, "me"), (theirs, "them"), (done, "me")):
        await _claim(email["id"], worker)
    await fetch("UPDATE email_message SET status = 'SENT' WHERE id = $1", [done["id"]])
    leases = Leases("me", lease_seconds=600)
    leases.hold([mine["id"], theirs["id"], done["id"]], leases.now())
    await leases.renew()
    assert await _lease_left(mine["id"]) > 500
    assert await _lease_left(theirs["id"]) < 2
    assert await _lease_left(done["id"]) < 2
    assert leases.renewals == 1


async def test_sends_longer_than_the_lease_are_never_taken_over_while_the_worker_lives(
    org, settings
) -> None:
    people = [await make_customer(org) for _ in range(4)]
    async with smtp_sink() as sink:
        # each send takes two leases' time; a lease of 1.5 s renews every 0.5 s, and each
        # renewal must finish within that (0.6 s left renewals 0.2 s, which a loaded 2-core CI
        # machine missed twice in a row once: the guard then cut the sends off, as it must)
        sink.data_delay = 3.0
        config = email_settings(settings, sink.port, email_lease_seconds=1.5,
                                email_worker_concurrency=1, email_batch_size=1)
        queued = [await queue_email(config, person) for person in people]
        async with (running_worker(config, [org.id]) as one,
                    running_worker(config, [org.id]) as two):
            await poll(lambda: _all_sent(org.id, 4), seconds=30)
    assert sorted(sink.ids()) == sorted(e["message_id"] for e in queued)  # each exactly once
    assert one.leases.renewals + two.leases.renewals > 0
    rows = await fetch("SELECT attempts FROM email_message WHERE organization_id = $1", [org.id])
    assert [row["attempts"] for row in rows] == [1, 1, 1, 1]


async def _all_sent(org_id: int, count: int) -> bool:
    return (await statuses(org_id)) == {"SENT": count}


async def test_a_send_is_cut_off_before_an_unrenewed_lease_runs_out(org, settings) -> None:
    email = await queue_email(email_settings(settings), await make_customer(org))
    async with silent_server() as (port, connected):
        # the server never answers and SMTP would wait 30 s; the lease is 0.5 s and nothing
        # renews it (no heartbeat runs outside Worker.run)
        config = email_settings(settings, port, smtp_timeout_seconds=30, email_lease_seconds=0.5)
        worker = Worker(config, org_ids=[org.id])
        mailer = worker.mailer_factory()
        handled = await asyncio.wait_for(worker.send_due(mailer), 10)
        await mailer.close()
    assert handled == 1
    assert connected.is_set()
    row = await email_row(email["id"])
    assert row["status"] == "QUEUED"
    assert row["locked_by"] is None
    assert "cut off before the worker's lease could run out" in row["last_error"]


async def test_an_outcome_never_overwrites_another_workers_claim(org, settings) -> None:
    email = await queue_email(email_settings(settings), await make_customer(org))
    async with silent_server() as (port, connected):
        config = email_settings(settings, port, smtp_timeout_seconds=30, email_lease_seconds=0.5)
        worker = Worker(config, org_ids=[org.id])
        mailer = worker.mailer_factory()
        sending = asyncio.create_task(worker.send_due(mailer))
        await asyncio.wait_for(connected.wait(), 10)
        await _claim(email["id"], "another-worker")  # as if our lease had run out meanwhile
        assert await asyncio.wait_for(sending, 10) == 1
        await mailer.close()
    row = await email_row(email["id"])
    assert (row["status"], row["locked_by"], row["last_error"]) == (
        "SENDING", "another-worker", None)
