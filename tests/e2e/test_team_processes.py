"""Reminders and staff email from a real `crm worker` process: its taskDue event reaches a
websocket served by another process's listener, its invitations and digests reach SMTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db import task as tasks
from db.enums import Role
from db.models import Organization
from schema.node import to_global_id
from services.email import staff
from tests.e2e.test_worker_processes import start_worker, stop, worker_env
from tests.factories import make_user, token_for
from tests.resolvers.test_subscription import GraphQLSocket
from tests.resolvers.test_subscription import live as live  # the fixture
from tests.services.email.test_digest import zone_at_noon
from tests.smtp import smtp_sink


async def test_worker_process_reminds_and_emails_the_team(
    live, org, settings, db, tmp_path
) -> None:
    now = datetime.now(UTC)
    await Organization.filter(id=org.id).update(time_zone=zone_at_noon(now))
    user = await make_user(org, role=Role.AGENT)
    async with smtp_sink() as sink, GraphQLSocket.open(
        live.url, token_for(user, settings)
    ) as socket:
        op = await socket.subscribe("subscription { taskDue { id title } }")
        await live.subscribed(org.id)
        env = worker_env(db, sink.port) | {
            "CRM_TASK_REMINDER_POLL_SECONDS": "0.2", "CRM_TASK_DIGEST_HOUR": "0",
        }
        worker = await start_worker(env, org.slug, tmp_path / "worker.log")
        try:
            task = await tasks.create(org_id=org.id, user_id=user.id, data={
                "title": "Renew the contract", "due_at": now - timedelta(seconds=1)})
            event = (await socket.data(op))["taskDue"]
            await staff.invite(settings, org_id=org.id, inviter_id=None,
                               email="joiner@example.com", role=Role.VIEWER)
            await sink.wait_until(lambda: {"joiner@example.com", user.email} <= {
                r.rcpt_tos[0] for r in sink.received}, seconds=60)
        finally:
            await stop(worker)
    assert event == {"id": to_global_id("Task", task["id"]), "title": "Renew the contract"}
    mail = {r.rcpt_tos[0]: r.message for r in sink.received}
    assert "/console#/invitation?token=crmi_" in mail[
        "joiner@example.com"].get_body(("plain",)).get_content()
    assert "Renew the contract" in mail[user.email].get_body(("plain",)).get_content()
