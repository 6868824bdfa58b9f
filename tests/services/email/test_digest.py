"""The daily task digest: the right tasks, the organization's day, once a day, opt-out honoured,
delivered by the real outbox worker over SMTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from db import task as tasks
from db.enums import Role
from db.models import Organization, User
from db.sales_enums import TaskStatus
from services.email import digest
from tests.email_helpers import email_settings, running_worker
from tests.factories import Api, make_org, make_user, token_for
from tests.smtp import smtp_sink

PREFERENCES = """mutation($on: Boolean) { updateMyPreferences(input: {taskDigest: $on}) {
  preferences { taskDigest } errors { code field message } } }"""


def zone_at_noon(now: datetime) -> str:
    """A fixed-offset IANA zone in which ``now`` is around midday (so 'later today' exists)."""
    offset = max(-12, min(14, 12 - now.hour))
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


async def _task(user: User, title: str, due_at: datetime, **data: Any) -> dict[str, Any]:
    return await tasks.create(org_id=user.organization_id, user_id=user.id,
                              data={"title": title, "due_at": due_at, **data})


async def test_digest_lists_todays_and_overdue_tasks_once_a_day(http, settings) -> None:
    now = datetime.now(UTC)
    org = await make_org()
    await Organization.filter(id=org.id).update(time_zone=zone_at_noon(now))
    user = await make_user(org, role=Role.AGENT, name="Dana")
    colleague = await make_user(org, role=Role.AGENT)
    quiet = await make_user(org, role=Role.AGENT)
    await _task(user, "Call back Ada", now - timedelta(days=1))
    await _task(user, "Send the offer", now + timedelta(minutes=30))
    await _task(user, "Next week's review", now + timedelta(days=7))
    await _task(user, "Done already", now - timedelta(hours=2), status=TaskStatus.DONE)
    await _task(colleague, "Colleague's task", now - timedelta(hours=1))
    await _task(quiet, "Quiet's task", now - timedelta(hours=1))
    off = await Api(http, token_for(quiet, settings)).data(PREFERENCES, on=False)
    assert off["updateMyPreferences"]["preferences"] == {"taskDigest": False}
    async with smtp_sink() as sink:
        config = email_settings(settings, sink.port, task_digest_hour=0)
        assert await digest.send_due(config, now=now, org_ids=[org.id]) == 2
        assert await digest.send_due(config, now=now, org_ids=[org.id]) == 0  # once a day
        async with running_worker(config, [org.id]):
            await sink.wait_for(2)
    mail = {r.rcpt_tos[0]: r.message for r in sink.received}
    assert set(mail) == {user.email, colleague.email}
    assert mail[user.email]["Subject"] == f"Tasks for {_local_day(now, org)}: 2 due, 1 overdue"
    body = mail[user.email].get_body(("plain",)).get_content()
    lines = [line for line in body.splitlines() if line.startswith("- ")]
    assert [re.sub(r"^- (OVERDUE )?\S+ \S+ ", "", line) for line in lines] == [
        "Call back Ada (normal)", "Send the offer (normal)"]
    assert lines[0].startswith("- OVERDUE ")
    assert "Colleague's task" in mail[colleague.email].get_body(("plain",)).get_content()


def _local_day(now: datetime, org: Organization) -> str:
    from zoneinfo import ZoneInfo
    return f"{now.astimezone(ZoneInfo(zone_at_noon(now))):%Y-%m-%d}"


async def test_no_digest_before_the_local_hour_or_for_deactivated_users(settings) -> None:
    now = datetime.now(UTC)
    org = await make_org()
    await Organization.filter(id=org.id).update(time_zone=zone_at_noon(now))
    user = await make_user(org, role=Role.AGENT)
    gone = await make_user(org, role=Role.AGENT, is_active=False)
    for owner in (user, gone):
        await _task(owner, "Due", now - timedelta(hours=1))
    late = email_settings(settings, task_digest_hour=23)
    assert await digest.send_due(late, now=now, org_ids=[org.id]) == 0
    early = email_settings(settings, task_digest_hour=0)
    assert await digest.send_due(early, now=now, org_ids=[org.id]) == 1


async def test_preferences_need_a_boolean(http, api) -> None:
    body = await api.data(PREFERENCES, on=None)
    assert body["updateMyPreferences"]["errors"][0]["field"] == ["input", "taskDigest"]
    assert (await api.data("{ viewer { preferences { taskDigest } } }"))["viewer"] == {
        "preferences": {"taskDigest": True}}
