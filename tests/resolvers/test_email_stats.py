"""emailStats counts outbound emails by status and opt-outs; previewEmail renders, sends nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db.email_enums import EmailStatus
from db.enums import Channel, Direction
from db.sql import fetch_one
from tests.factories import gid, make_customer, make_email_message, make_interaction

STATS = """query($since: DateTime) { emailStats(since: $since) {
  queued sending sent failed bounced optedOut } }"""
PREVIEW = """query($input: SendEmailInput!) { previewEmail(input: $input) {
  preview { subject text html } errors { code field message } } }"""
TEMPLATE = """mutation { createEmailTemplate(input: {name: "Hi",
  subject: "Hello {{ customer.first_name }}", text: "Dear {{ customer.name }}, {{ offer }}"})
  { template { id } errors { message } } }"""


async def test_emails_are_counted_by_status_and_opt_outs(api, org) -> None:  # type: ignore[no-untyped-def]
    customer = await make_customer(org)
    await make_customer(org, email_opt_out=True)
    await make_customer(org, email_opt_out=True, deleted_at=datetime.now(UTC))
    for status in (EmailStatus.SENT, EmailStatus.SENT, EmailStatus.BOUNCED):
        interaction = await make_interaction(customer, channel=Channel.EMAIL,
                                             direction=Direction.OUTBOUND)
        await make_email_message(interaction, status=status)
    stats = (await api.data(STATS))["emailStats"]
    assert stats == {"queued": 0, "sending": 0, "sent": 2, "failed": 0, "bounced": 1,
                     "optedOut": 1}
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert (await api.data(STATS, since=later))["emailStats"]["sent"] == 0


async def test_a_preview_renders_the_template_and_sends_nothing(api, org) -> None:  # type: ignore[no-untyped-def]
    customer = await make_customer(org, name="Ada Lovelace", email_opt_out=True)
    template = (await api.data(TEMPLATE))["createEmailTemplate"]["template"]
    payload = (await api.data(PREVIEW, input={
        "customerId": gid(customer), "templateId": template["id"],
        "variables": {"offer": "10% off"}}))["previewEmail"]
    assert payload["errors"] == []
    assert payload["preview"]["subject"] == "Hello Ada"
    assert payload["preview"]["text"] == "Dear Ada Lovelace, 10% off"
    assert payload["preview"]["html"] is None
    count = await fetch_one("SELECT count(*) AS n FROM email_message WHERE organization_id = $1",
                            [org.id])
    assert count is not None
    assert count["n"] == 0


async def test_a_preview_reports_template_problems_on_their_field(api, org) -> None:  # type: ignore[no-untyped-def]
    customer = await make_customer(org)
    template = (await api.data(TEMPLATE))["createEmailTemplate"]["template"]
    missing = (await api.data(PREVIEW, input={
        "customerId": gid(customer), "templateId": template["id"]}))["previewEmail"]
    assert missing["preview"] is None
    assert [(e["code"], e["field"]) for e in missing["errors"]] == [
        ("TEMPLATE_ERROR", ["input", "variables"])]
    both = (await api.data(PREVIEW, input={"customerId": gid(customer), "subject": "S"}))
    assert [e["field"] for e in both["previewEmail"]["errors"]] == [["input", "text"]]
