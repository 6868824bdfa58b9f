"""The outbox worker against a real SMTP server: delivery, retries, failures, crashes, races."""

from __future__ import annotations

import asyncio
import os
import sys
from types import SimpleNamespace
from typing import Any

from db.customer_filter import CustomerFilter
from db.models import Customer, Interaction
from db.sql import fetch
from services.email.campaigns import CampaignRequest, advance, create_campaign
from services.email.outbox import Worker, backoff_seconds, service
from tests.email_helpers import (
    email_row,
    email_settings,
    make_template,
    queue_email,
    running_worker,
    statuses,
    wait_status,
    wait_until,
)
from tests.factories import make_customer, make_org
from tests.smtp import silent_server, smtp_sink


async def test_queued_email_is_delivered_once_and_marked_sent(org, settings) -> None:
    customer = await make_customer(org, name="张三", email="zhangsan@example.com")
    async with smtp_sink() as sink:
        config = email_settings(settings, sink.port)
        email = await queue_email(config, customer, subject="Ihre Bestellung", text="Danke!\n")
        async with running_worker(config, [org.id]):
            row = await wait_status(email["id"], "SENT")
    [received] = sink.received
    assert received.message_id == email["message_id"]
    assert str(received.message["To"]) == "张三 <zhangsan@example.com>"
    assert row["attempts"] == 1
    assert row["sent_at"] is not None
    assert row["last_error"] is None


async def test_server_down_then_up_is_retried_and_delivered_once(org, settings) -> None:
    customer = await make_customer(org)
    async with smtp_sink() as probe:
        port = probe.port  # a port that is free again once the block ends
    config = email_settings(settings, port)
    email = await queue_email(config, customer)
    async with running_worker(config, [org.id]):
        async def failed_once() -> bool:
            row = await email_row(email["id"])
            return row["attempts"] >= 1 and row["last_error"] is not None

        await wait_until(failed_once)
        assert (await email_row(email["id"]))["status"] in ("QUEUED", "SENDING")
        async with smtp_sink(port) as sink:
            row = await wait_status(email["id"], "SENT")
    assert sink.ids() == [email["message_id"]]
    assert row["attempts"] >= 2


async def test_4xx_reply_is_retried(org, settings) -> None:
    customer = await make_customer(org)
    async with smtp_sink() as sink:
        sink.data_replies.append("451 4.7.1 greylisted, try again")
        config = email_settings(settings, sink.port)
        email = await queue_email(config, customer)
        async with running_worker(config, [org.id]):
            row = await wait_status(email["id"], "SENT")
    assert sink.ids() == [email["message_id"]]
    assert row["attempts"] == 2
    assert "451 4.7.1 greylisted" in row["last_error"]


async def test_5xx_marks_failed_with_the_server_reply(org, settings) -> None:
    customer = await make_customer(org, email="nobody@example.com")
    async with smtp_sink() as sink:
        sink.rcpt_replies["nobody@example.com"] = "550 5.1.1 <nobody@example.com>: unknown user"
        config = email_settings(settings, sink.port)
        email = await queue_email(config, customer)
        async with running_worker(config, [org.id]):
            row = await wait_status(email["id"], "FAILED")
    assert sink.received == []
    assert row["attempts"] == 1
    assert "550 5.1.1 <nobody@example.com>: unknown user" in row["last_error"]


async def test_transient_failures_stop_after_max_attempts(org, settings) -> None:
    customer = await make_customer(org)
    async with smtp_sink() as sink:
        sink.data_replies.extend(["421 4.3.2 busy"] * 10)
        config = email_settings(settings, sink.port, email_max_attempts=3)
        email = await queue_email(config, customer)
        async with running_worker(config, [org.id]):
            row = await wait_status(email["id"], "FAILED")
    assert row["attempts"] == 3
    assert "421 4.3.2 busy" in row["last_error"]
    assert sink.received == []


async def test_opt_out_after_queueing_stops_the_email(org, settings) -> None:
    customer = await make_customer(org)
    async with smtp_sink() as sink:
        config = email_settings(settings, sink.port)
        email = await queue_email(config, customer)
        await Customer.filter(id=customer.id).update(email_opt_out=True)
        async with running_worker(config, [org.id]):
            row = await wait_status(email["id"], "FAILED")
    assert sink.received == []
    assert "opted out" in row["last_error"]


async def test_worker_killed_between_claim_and_send_is_retried_after_the_lease(
    org, settings, db, tmp_path
) -> None:
    customer = await make_customer(org)
    email = await queue_email(email_settings(settings), customer)
    log = tmp_path / "worker.log"
    async with silent_server() as (silent_port, connected):
        env = {**os.environ, "DATABASE_URL": db, "SMTP_HOST": "127.0.0.1",
               "SMTP_PORT": str(silent_port), "SMTP_TLS": "none", "SMTP_TIMEOUT": "60",
               "CRM_EMAIL_LEASE_SECONDS": "2", "CRM_EMAIL_POLL_SECONDS": "0.1"}
        with log.open("wb") as output:
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app.cli", "worker", "--org", org.slug, env=env,
                stdout=output, stderr=output,
            )
        try:
            # the worker has claimed the email and now waits for the server's greeting
            await wait_until(_either(connected, worker), seconds=60)
            assert worker.returncode is None, log.read_text()
            claimed = await email_row(email["id"])
        finally:
            if worker.returncode is None:
                worker.kill()  # SIGKILL: no chance to give the email back
            await worker.wait()
    assert claimed["status"] == "SENDING"
    assert claimed["attempts"] == 1
    async with smtp_sink() as sink, running_worker(email_settings(settings, sink.port), [org.id]):
        row = await wait_status(email["id"], "SENT")
    assert sink.ids() == [email["message_id"]]  # same Message-ID, delivered once
    assert row["attempts"] == 2


def _either(connected: asyncio.Event, process: asyncio.subprocess.Process) -> Any:
    async def check() -> bool:
        return connected.is_set() or process.returncode is not None

    return check


async def test_two_workers_racing_deliver_each_email_once(org, settings) -> None:
    people = [await make_customer(org) for _ in range(40)]
    async with smtp_sink() as sink:
        config = email_settings(settings, sink.port, email_batch_size=3,
                                email_worker_concurrency=3)
        queued = [await queue_email(config, person) for person in people]
        async with running_worker(config, [org.id]), running_worker(config, [org.id]):
            await sink.wait_for(40)
            await wait_until(lambda: _all_sent(org.id, 40))
    assert sorted(sink.ids()) == sorted(e["message_id"] for e in queued)
    assert len(set(sink.ids())) == 40


async def _all_sent(org_id: int, count: int) -> bool:
    return (await statuses(org_id)) == {"SENT": count}


async def test_campaign_is_queued_in_batches_and_delivered(org, settings) -> None:
    template = await make_template(org, subject="Hi {{ customer.first_name }}",
                                   text="Sale at {{ shop }}!")
    for i in range(7):
        await make_customer(org, name=f"Buyer{i} Smith", tags=["sale"])
    await make_customer(org, tags=["sale"], email_opt_out=True)
    await make_customer(org, tags=["other"])
    async with smtp_sink() as sink:
        config = email_settings(settings, sink.port, campaign_batch_size=3)
        campaign = await create_campaign(config, org_id=org.id, user_id=None, request=(
            CampaignRequest(template_id=template["id"], variables={"shop": "Acme"},
                            customer_filter=CustomerFilter(tags=("sale",)))))
        assert campaign["total"] == 7
        async with running_worker(config, [org.id]):
            await sink.wait_for(7)
            await wait_until(lambda: _all_sent(org.id, 7))
    subjects = sorted(str(r.message["Subject"]) for r in sink.received)
    assert subjects == [f"Hi Buyer{i}" for i in range(7)]
    assert all("Sale at Acme!" in r.message.get_body(("plain",)).get_content()
               for r in sink.received)
    assert not await advance(config, [org.id])  # nothing left to queue
    assert await Interaction.filter(organization_id=org.id, channel="EMAIL").count() == 7


async def test_expired_lease_after_the_last_attempt_fails_the_email(org, settings) -> None:
    customer = await make_customer(org)
    config = email_settings(settings, email_max_attempts=2)
    email = await queue_email(config, customer)
    await fetch("UPDATE email_message SET status = 'SENDING', attempts = 2,"
                " available_at = now() - interval '1 second' WHERE id = $1", [email["id"]])
    worker = Worker(config, org_ids=[org.id])
    assert await worker.send_due(worker.mailer_factory()) == 1
    row = await email_row(email["id"])
    assert row["status"] == "FAILED"
    assert "lease expired" in row["last_error"]


def test_backoff_grows_exponentially_with_jitter_and_a_cap(settings) -> None:
    config = email_settings(settings, email_retry_base_seconds=10, email_retry_max_seconds=100)
    first = [backoff_seconds(config, 1) for _ in range(200)]
    assert all(5 <= d <= 10 for d in first)
    assert len(set(first)) > 100
    assert all(20 <= backoff_seconds(config, 3) <= 40 for _ in range(50))
    assert all(50 <= backoff_seconds(config, 30) <= 100 for _ in range(50))


async def test_other_organizations_are_not_touched(org, settings) -> None:
    other = await make_org()
    theirs = await queue_email(email_settings(settings), await make_customer(other))
    mine = await queue_email(email_settings(settings), await make_customer(org))
    async with smtp_sink() as sink, running_worker(email_settings(settings, sink.port), [org.id]):
        await wait_status(mine["id"], "SENT")
    assert (await email_row(theirs["id"]))["status"] == "QUEUED"
    assert sink.ids() == [mine["message_id"]]


async def test_new_email_wakes_an_idle_worker_without_waiting_for_the_poll(
    org, settings, db
) -> None:
    customer = await make_customer(org)
    async with smtp_sink() as sink:
        config = email_settings(settings, sink.port, email_poll_seconds=300)
        async with running_worker(config, [org.id], database_url=db) as worker:
            await asyncio.wait_for(worker.listening.wait(), 20)
            email = await queue_email(config, customer)
            await wait_status(email["id"], "SENT")
    assert sink.ids() == [email["message_id"]]


async def test_in_process_service_follows_the_setting(org, settings, db) -> None:
    customer = await make_customer(org)
    app = SimpleNamespace(state=SimpleNamespace(database_url=db))
    async with smtp_sink() as sink:
        off = email_settings(settings, sink.port)
        async with service(app, off):
            assert not any(t.get_name() == "email-outbox-worker" for t in asyncio.all_tasks())
        # the in-process worker serves every organization; ours is the one this test waits for
        on = email_settings(settings, sink.port, email_worker_in_process=True)
        email = await queue_email(on, customer)
        async with service(app, on):
            await wait_status(email["id"], "SENT")
    assert email["message_id"] in sink.ids()


async def test_staff_email_shares_the_outbox_without_an_interaction(org, settings) -> None:
    from db.email import queue_staff
    from db.email_enums import EmailKind
    from services.email.staff import compose

    customer = await make_customer(org, email="same@example.com", email_opt_out=True)
    async with smtp_sink() as sink:
        config = email_settings(settings, sink.port)
        email = await queue_staff(org_id=org.id, email=compose(
            config, kind=EmailKind.TASK_DIGEST, user_id=None, recipient="same@example.com",
            name="Staff", subject="Your tasks", text="Nothing due.\n"))
        async with running_worker(config, [org.id]):
            row = await wait_status(email["id"], "SENT")
    # a customer's opt-out is the customer's: a user with the same address still gets mail
    assert [r.rcpt_tos for r in sink.received] == [["same@example.com"]]
    assert (row["kind"], row["interaction_id"], row["customer_id"]) == ("TASK_DIGEST", None, None)
    assert await Interaction.filter(customer_id=customer.id).count() == 0
