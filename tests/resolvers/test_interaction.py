"""Interactions through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db.enums import Channel, Direction
from db.models import Interaction
from tests.factories import gid, make_customer, make_interaction, make_org

LOG = """
mutation($input: LogInteractionInput!) {
  logInteraction(input: $input) {
    interaction { id channel direction subject body metadata customer { name } createdBy { email } }
    errors { code field message }
  }
}"""


async def test_log_interaction(api, org, admin) -> None:
    customer = await make_customer(org, name="张三")
    data = await api.data(LOG, input={
        "customerId": gid(customer), "channel": "MEETING", "direction": "OUTBOUND",
        "subject": "Kick-off", "body": "Met in 北京市.\nNext steps agreed.",
        "metadata": {"room": "A1"},
    })
    interaction = data["logInteraction"]["interaction"]
    assert interaction["customer"] == {"name": "张三"}
    assert interaction["createdBy"] == {"email": admin.email}
    assert interaction["body"] == "Met in 北京市.\nNext steps agreed."
    assert interaction["metadata"] == {"room": "A1"}


async def test_log_interaction_for_unknown_customer_writes_nothing(api, org) -> None:
    theirs = await make_customer(await make_org())
    data = await api.data(LOG, input={"customerId": gid(theirs), "channel": "NOTE",
                                      "direction": "INBOUND", "body": "x"})
    assert data["logInteraction"]["errors"][0]["code"] == "NOT_FOUND"
    assert not await Interaction.filter(customer=theirs).exists()


async def test_organization_timeline_filters(api, org) -> None:
    alice, bob = await make_customer(org, name="Alice"), await make_customer(org, name="Bob")
    start = datetime(2026, 5, 1, tzinfo=UTC)
    await make_interaction(alice, channel=Channel.EMAIL, direction=Direction.INBOUND,
                           occurred_at=start)
    await make_interaction(alice, channel=Channel.SMS, direction=Direction.OUTBOUND,
                           occurred_at=start + timedelta(days=1))
    await make_interaction(bob, channel=Channel.EMAIL, direction=Direction.OUTBOUND,
                           occurred_at=start + timedelta(days=2))
    await make_interaction(await make_customer(await make_org()))  # another tenant's

    async def subjects(**f):
        data = await api.data("query($f: InteractionFilter) { interactions(filter: $f) "
                              "{ totalCount nodes { channel customer { name } } } }", f=f)
        return [(n["channel"], n["customer"]["name"]) for n in data["interactions"]["nodes"]]

    assert await subjects() == [("EMAIL", "Bob"), ("SMS", "Alice"), ("EMAIL", "Alice")]
    assert await subjects(channels=["EMAIL"]) == [("EMAIL", "Bob"), ("EMAIL", "Alice")]
    assert await subjects(direction="OUTBOUND") == [("EMAIL", "Bob"), ("SMS", "Alice")]
    assert await subjects(customerId=gid(alice)) == [("SMS", "Alice"), ("EMAIL", "Alice")]
    assert await subjects(occurredAfter="2026-05-02T00:00:00Z",
                          occurredBefore="2026-05-03T00:00:00Z") == [("SMS", "Alice")]


async def test_control_characters_in_subject_are_refused(api, org) -> None:
    customer = await make_customer(org)
    data = await api.data(LOG, input={"customerId": gid(customer), "channel": "NOTE",
                                      "direction": "INBOUND", "subject": "bad\x07subject"})
    assert data["logInteraction"]["errors"][0]["field"] == ["input", "subject"]
    # a NUL, which PostgreSQL cannot store at all, is refused before the mutation runs
    body = await api(LOG, input={"customerId": gid(customer), "channel": "NOTE",
                                 "direction": "INBOUND", "subject": "bad\x00subject"})
    assert body["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT", "field": ["$input", "subject"]
    }
    assert await Interaction.filter(customer_id=customer.id).count() == 0


async def test_a_note_can_be_about_a_deal_or_a_company(api, org) -> None:
    from tests.factories import gid, make_customer

    customer = gid(await make_customer(org))
    company = (await api.data('mutation { createCompany(input: {name: "Noted"}) {'
                              " company { id } } }"))["createCompany"]["company"]["id"]
    deal = (await api.data('mutation { createDeal(input: {name: "N", amount: "1"}) {'
                           " deal { id } } }"))["createDeal"]["deal"]["id"]
    log = """mutation($input: LogInteractionInput!) { logInteraction(input: $input) {
        interaction { id dealId companyId } errors { code field message } } }"""
    note = {"customerId": customer, "channel": "NOTE", "direction": "INBOUND", "body": "x"}
    on_deal = await api.data(log, input={**note, "dealId": deal})
    assert on_deal["logInteraction"]["interaction"]["dealId"] == deal
    on_company = await api.data(log, input={**note, "companyId": company})
    assert on_company["logInteraction"]["interaction"]["companyId"] == company
    bad = await api.data(log, input={**note, "dealId": company, "companyId": "Q29tcGFueTo5OTk="})
    assert [e["field"] for e in bad["logInteraction"]["errors"]] == [["input", "dealId"]]
    missing = await api.data(log, input={**note, "companyId": "Q29tcGFueTo5OTk5OTk="})
    assert missing["logInteraction"]["errors"][0]["code"] == "NOT_FOUND"
    listed = await api.data(
        "query($d: ID!) { interactions(filter: {dealId: $d}) { nodes { id } } }", d=deal)
    noted = on_deal["logInteraction"]["interaction"]["id"]
    assert listed["interactions"]["nodes"] == [{"id": noted}]
