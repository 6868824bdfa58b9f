"""Email through the GraphQL endpoint: sendEmail, templates, campaigns, Interaction.email."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

from db import email as emails
from db.email_enums import EmailStatus, SuppressionReason
from db.email_models import EmailMessage
from db.enums import Role
from db.models import Interaction
from schema.node import to_global_id
from services.email.campaigns import advance
from tests.email_helpers import email_row, make_template
from tests.factories import Api, gid, make_customer, make_org, make_user, token_for

SEND = """
mutation($input: SendEmailInput!) {
  sendEmail(input: $input) {
    interaction { id channel direction subject body email { status attempts messageId } }
    email { status attempts lastError sentAt messageId }
    errors { code field message }
  }
}"""


def _mime(row: dict) -> object:
    return BytesParser(policy=policy.default).parsebytes(bytes(row["mime"]))


async def _outbox_count(org) -> int:
    return await EmailMessage.filter(organization_id=org.id).count()


async def test_send_email_queues_an_interaction_with_delivery_status(api, org) -> None:
    customer = await make_customer(org, name="张三", email="zhangsan@example.com")
    data = await api.data(SEND, input={"customerId": gid(customer), "subject": "你好",
                                       "text": "Thank you.", "html": "<p>Thank you.</p>"})
    payload = data["sendEmail"]
    assert payload["errors"] == []
    interaction = payload["interaction"]
    assert (interaction["channel"], interaction["direction"]) == ("EMAIL", "OUTBOUND")
    assert interaction["subject"] == "你好"
    assert interaction["body"] == "Thank you."
    assert interaction["email"] == {"status": "QUEUED", "attempts": 0,
                                    "messageId": payload["email"]["messageId"]}
    listed = await api.data("{ interactions { nodes { email { status } } } }")
    assert listed["interactions"]["nodes"] == [{"email": {"status": "QUEUED"}}]


async def test_interaction_email_is_null_for_other_interactions(api, org) -> None:
    from tests.factories import make_interaction

    await make_interaction(await make_customer(org))
    listed = await api.data("{ interactions { nodes { channel email { status } } } }")
    assert listed["interactions"]["nodes"] == [{"channel": "PHONE", "email": None}]


async def test_template_renders_customer_fields_and_escapes_html(api, org) -> None:
    template = await make_template(
        org, subject="Order {{ order }} for {{ customer.first_name }}",
        html="<p>Hi {{ customer.name }}, note: {{ note }}</p>", text=None,
    )
    customer = await make_customer(org, name="Ada <Lovelace>")
    data = await api.data(SEND, input={
        "customerId": gid(customer), "templateId": to_global_id("EmailTemplate", template["id"]),
        "variables": {"order": "#42", "note": "<script>alert(1)</script>"},
    })
    payload = data["sendEmail"]
    assert payload["errors"] == []
    assert payload["interaction"]["subject"] == "Order #42 for Ada"
    message = _mime(await email_row(await _email_id(payload)))
    html = message.get_body(("html",)).get_content()
    assert "Ada &lt;Lovelace&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    text = message.get_body(("plain",)).get_content()
    assert "Hi Ada <Lovelace>, note: <script>alert(1)</script>" in text


async def _email_id(payload: dict) -> int:
    row = await EmailMessage.get(message_id=payload["email"]["messageId"])
    return row.id


async def test_refusals_have_clear_codes_and_queue_nothing(api, org) -> None:
    template = await make_template(org, text="{{ coupon }} for you")
    opted_out = await make_customer(org, email_opt_out=True)
    bounced = await make_customer(org)
    await emails.suppress(org_id=org.id, email=bounced.email, customer_id=None,
                          reason=SuppressionReason.BOUNCED)
    cases = [
        ({"customerId": gid(await make_customer(org, email=None))}, "NO_EMAIL_ADDRESS"),
        ({"customerId": gid(opted_out)}, "OPTED_OUT"),
        ({"customerId": gid(bounced)}, "OPTED_OUT"),
        ({"customerId": gid(await make_customer(await make_org()))}, "NOT_FOUND"),
        ({"customerId": gid(await make_customer(org)), "subject": None, "text": None,
          "templateId": to_global_id("EmailTemplate", template["id"])}, "TEMPLATE_ERROR"),
        ({"customerId": gid(await make_customer(org)), "text": "x" * 2_200_000},
         "MESSAGE_TOO_LARGE"),
        ({"customerId": gid(await make_customer(org)), "subject": None}, "BAD_USER_INPUT"),
    ]
    for extra, code in cases:
        data = await api.data(SEND, input={"subject": "Hi", "text": "Hello"} | extra)
        payload = data["sendEmail"]
        assert payload["interaction"] is None
        assert [e["code"] for e in payload["errors"]] == [code], (extra.keys(), payload)
    assert await _outbox_count(org) == 0
    assert not await Interaction.filter(organization_id=org.id, channel="EMAIL").exists()


async def test_missing_variable_names_the_variable(api, org) -> None:
    template = await make_template(org, text="Your code: {{ coupon }}")
    data = await api.data(SEND, input={
        "customerId": gid(await make_customer(org)),
        "templateId": to_global_id("EmailTemplate", template["id"]),
    })
    [error] = data["sendEmail"]["errors"]
    assert error["field"] == ["input", "variables"]
    assert "coupon" in error["message"]


async def test_same_idempotency_key_returns_the_first_email(api, org) -> None:
    customer = await make_customer(org)
    first, second = [
        (await api.data(SEND, input={"customerId": gid(customer), "subject": subject,
                                     "text": "Hello", "idempotencyKey": "welcome-1"}))["sendEmail"]
        for subject in ("First", "Second")
    ]
    assert second["interaction"]["id"] == first["interaction"]["id"]
    assert second["interaction"]["subject"] == "First"
    assert await _outbox_count(org) == 1


TEMPLATE = """
mutation($input: CreateEmailTemplateInput!) {
  createEmailTemplate(input: $input) { template { id name subject text html }
    errors { code field message } }
}"""


async def test_templates_create_update_list(api, org) -> None:
    created = (await api.data(TEMPLATE, input={
        "name": "Welcome", "subject": "Hi {{ customer.name }}", "html": "<b>Hi</b>"}))
    template = created["createEmailTemplate"]["template"]
    duplicate = await api.data(TEMPLATE, input={"name": "WELCOME", "subject": "x", "text": "y"})
    assert duplicate["createEmailTemplate"]["errors"][0]["code"] == "DUPLICATE"
    broken = await api.data(TEMPLATE, input={"name": "B", "subject": "x", "text": "{% if %}"})
    assert broken["createEmailTemplate"]["errors"][0]["code"] == "TEMPLATE_ERROR"
    assert broken["createEmailTemplate"]["errors"][0]["field"] == ["input", "text"]
    updated = await api.data(
        "mutation($input: UpdateEmailTemplateInput!) { updateEmailTemplate(input: $input) {"
        " template { name subject html } errors { code } } }",
        input={"id": template["id"], "subject": "Welcome, {{ customer.first_name }}"})
    assert updated["updateEmailTemplate"]["template"] == {
        "name": "Welcome", "subject": "Welcome, {{ customer.first_name }}", "html": "<b>Hi</b>"}
    listed = await api.data("{ emailTemplates { totalCount nodes { name } } }")
    assert listed["emailTemplates"] == {"totalCount": 1, "nodes": [{"name": "Welcome"}]}


async def test_agents_cannot_manage_templates(http, org, settings) -> None:
    agent = Api(http, token_for(await make_user(org, Role.AGENT), settings))
    body = await agent(TEMPLATE, input={"name": "X", "subject": "x", "text": "y"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


CAMPAIGN = """
mutation($input: SendCampaignInput!) {
  sendCampaign(input: $input) { campaign { id name status total queued sent failed done }
    errors { code field message } }
}"""
PROGRESS = "query($id: ID!) { campaign(id: $id) { status total queued sent failed done } }"


async def test_campaign_reports_progress(api, org, settings) -> None:
    template = await make_template(org, name="Spring sale")
    for _ in range(5):
        await make_customer(org, stage="CUSTOMER")
    await make_customer(org, stage="CUSTOMER", email=None)
    await make_customer(org, stage="LEAD")
    data = await api.data(CAMPAIGN, input={
        "templateId": to_global_id("EmailTemplate", template["id"]),
        "filter": {"stages": ["CUSTOMER"]}})
    campaign = data["sendCampaign"]["campaign"]
    assert campaign == {"id": campaign["id"], "name": "Spring sale", "status": "QUEUEING",
                        "total": 5, "queued": 0, "sent": 0, "failed": 0, "done": False}
    config = settings.model_copy(update={"campaign_batch_size": 2})
    while await advance(config, [org.id]):
        pass
    queued = await EmailMessage.filter(organization_id=org.id).order_by("id")
    await emails.set_status(queued[0].id, EmailStatus.SENT)
    await emails.set_status(queued[1].id, EmailStatus.FAILED, error="550")
    progress = (await api.data(PROGRESS, id=campaign["id"]))["campaign"]
    assert progress == {"status": "QUEUED", "total": 5, "queued": 5, "sent": 1, "failed": 1,
                        "done": False}


async def test_campaign_with_missing_variable_is_refused(api, org) -> None:
    template = await make_template(org, text="{{ coupon }}")
    data = await api.data(CAMPAIGN, input={
        "templateId": to_global_id("EmailTemplate", template["id"])})
    assert data["sendCampaign"]["errors"][0]["code"] == "TEMPLATE_ERROR"


async def test_cancelled_campaign_stops_queued_emails(api, org, settings) -> None:
    template = await make_template(org)
    for _ in range(3):
        await make_customer(org)
    data = await api.data(CAMPAIGN, input={
        "templateId": to_global_id("EmailTemplate", template["id"])})
    campaign_id = data["sendCampaign"]["campaign"]["id"]
    await advance(settings.model_copy(update={"campaign_batch_size": 2}), [org.id])
    cancelled = await api.data("mutation($id: ID!) { cancelCampaign(id: $id) {"
                               " campaign { status queued failed } errors { code } } }",
                               id=campaign_id)
    assert cancelled["cancelCampaign"]["campaign"] == {"status": "CANCELLED", "queued": 2,
                                                       "failed": 2}
    assert not await advance(settings, [org.id])


async def test_campaign_keeps_relation_filters_for_its_later_batches(api, org, settings) -> None:
    from decimal import Decimal

    from tests.factories import make_order

    template = await make_template(org)
    big_spenders = [await make_customer(org) for _ in range(3)]
    for customer in big_spenders:
        await make_order(customer, amount=Decimal("900"), currency="USD")
    for _ in range(3):
        await make_order(await make_customer(org), amount=Decimal("5"), currency="USD")
    data = await api.data(CAMPAIGN, input={
        "templateId": to_global_id("EmailTemplate", template["id"]),
        "filter": {"orders": {"hasOrderOver": "100"}}})
    assert data["sendCampaign"]["campaign"]["total"] == 3
    while await advance(settings.model_copy(update={"campaign_batch_size": 1}), [org.id]):
        pass
    queued = await EmailMessage.filter(organization_id=org.id).values_list("customer_id", flat=True)
    assert sorted(queued) == sorted(c.id for c in big_spenders)


WARNINGS = """
mutation($input: SendEmailInput!) { sendEmail(input: $input) { warnings errors { code } } }
"""


async def test_send_email_warns_while_no_worker_is_alive(api, org, db, settings) -> None:
    from tests.email_helpers import running_worker

    customer = await make_customer(org, email="worker-check@example.com")
    queued = await api.data(WARNINGS, input={"customerId": gid(customer), "subject": "Hi",
                                             "text": "Hello."})
    (warning,) = queued["sendEmail"]["warnings"]
    assert "No email worker is running" in warning
    assert "crm worker" in warning
    assert "CRM_EMAIL_WORKER_IN_PROCESS=true" in warning
    async with running_worker(settings, [org.id], database_url=db) as worker:
        await worker.listening.wait()
        sent = await api.data(WARNINGS, input={"customerId": gid(customer), "subject": "Again",
                                               "text": "Hello."})
    assert sent["sendEmail"] == {"warnings": [], "errors": []}
