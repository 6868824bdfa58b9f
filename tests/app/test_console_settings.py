"""The console's settings for admins in a real browser: API keys (the secret shown once, and it
works), webhooks (a delivery replayed from the log), email templates (field errors from the
API, a server preview), users (listed, invited, given roles) and the pages emailed links open."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from typing import Any

import httpx

from services.webhooks.delivery import Worker
from tests.app.console_browser import Served, browser, graphql, open_console, served
from tests.webhook_receiver import SECRET, Receiver

__all__ = ["browser", "served"]  # fixtures of tests/app/console_browser.py

WEBHOOK = """mutation($url: String!, $secret: String!) { createWebhook(input: {url: $url,
  secret: $secret, events: [CUSTOMER_UPDATED], description: "ERP sync"}) {
  webhook { id } errors { message } } }"""
TOUCH = """mutation($id: ID!) { updateCustomer(input: {id: $id, company: "Replayed GmbH"}) {
  errors { message } } }"""
FIRST = "{ customers(first: 1, orderBy: NAME_ASC) { nodes { id name } } }"
DELIVERIES = """query($id: ID!) { webhook(id: $id) { deliveries(first: 10) {
  totalCount nodes { event { sequence } } } } }"""


async def test_an_api_key_is_created_and_its_secret_shown_once(  # type: ignore[no-untyped-def]
    served: Served, browser: Any, demo: Any,
) -> None:
    from playwright.async_api import expect

    console = await open_console(browser, served, demo.admin, "/settings/api-keys")
    page = console.page
    form = page.locator("form.create-key")
    await form.locator("input[name=name]").fill("Partner ERP")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#key-scopes-error")).to_contain_text("scope")  # the API's words
    await form.locator("input[value='customers:read']").check()
    await form.locator("button[type=submit]").click()
    secret = await page.locator(".secret-value").inner_text()
    row = page.locator("table.api-keys tbody tr", has_text="Partner ERP")
    await expect(row.locator(".key-state")).to_have_text("active")

    # the secret works as a bearer token, and is nowhere once the page is left
    async with httpx.AsyncClient(base_url=served.url) as partner:
        response = await partner.post("/graphql", headers={"Authorization": f"Bearer {secret}"},
                                      json={"query": "{ customers(first: 1) { totalCount } }"})
    assert response.json()["data"]["customers"]["totalCount"] > 0
    await page.click("nav.tabs a[href='#/settings/webhooks']")
    await page.click("nav.tabs a[href='#/settings/api-keys']")
    await expect(row).to_be_visible()
    assert secret not in await page.content()

    page.on("dialog", lambda dialog: dialog.accept())
    await row.locator("button.revoke").click()
    await expect(row.locator(".key-state")).to_contain_text("revoked")
    assert console.problems == []
    await page.close()


async def test_a_webhook_delivery_is_replayed_from_its_log(  # type: ignore[no-untyped-def]
    served: Served, browser: Any, demo: Any,
) -> None:
    from playwright.async_api import expect

    async with Receiver(SECRET) as receiver:
        made = (await graphql(served, demo.admin, WEBHOOK, url=receiver.url, secret=SECRET))
        assert made["createWebhook"]["errors"] == []
        hook = made["createWebhook"]["webhook"]["id"]
        [customer] = (await graphql(served, demo.admin, FIRST))["customers"]["nodes"]
        touched = await graphql(served, demo.admin, TOUCH, id=customer["id"])
        assert touched["updateCustomer"]["errors"] == []
        # the delivery worker (another process in production) delivers it to the receiver
        worker = Worker(served.settings, org_ids=[demo.org.id])
        try:
            assert await worker.run_once() == 1
        finally:
            await worker.close()
        assert len(receiver.requests) == 1
    console = await open_console(browser, served, demo.admin, "/settings/webhooks")
    page = console.page
    card = page.locator(f"article.webhook[data-webhook='{hook}']")
    await card.locator("summary").click()
    log = card.locator("table.delivery-log tbody tr")
    await expect(log).to_have_count(1)
    await expect(log.first).to_contain_text("customer.updated")
    await expect(log.first).to_contain_text("delivered")
    await log.first.locator("button.replay").click()
    await expect(card.locator(".deliveries [role=status]")).to_contain_text("queued again (1)")
    await expect(log).to_have_count(2)
    deliveries = (await graphql(served, demo.admin, DELIVERIES, id=hook))["webhook"]["deliveries"]
    assert deliveries["totalCount"] == 2
    assert len({n["event"]["sequence"] for n in deliveries["nodes"]}) == 1  # the same event
    assert console.problems == []
    await page.close()


async def test_a_template_is_created_with_field_errors_and_previewed(  # type: ignore[no-untyped-def]
    served: Served, browser: Any, demo: Any,
) -> None:
    from playwright.async_api import expect

    console = await open_console(browser, served, demo.admin, "/settings/templates")
    page = console.page
    await page.click("button.new-template")
    form = page.locator("form.template-editor")
    await form.locator("input[name=name]").fill("Welcome back")
    await form.locator("input[name=subject]").fill("Hello {{ customer.first_name")  # broken
    await form.locator("textarea[name=text]").fill("Hi {{ customer.name }}, {{ offer }}!")
    await form.locator("button[type=submit]").click()
    await expect(form.locator("input[name=subject]")).to_have_attribute("aria-invalid", "true")
    await form.locator("input[name=subject]").fill("Hello {{ customer.first_name }}")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("table.templates")).to_contain_text("Welcome back")

    # the editor stays open on the saved template: a preview rendered by the server
    await page.fill("textarea[name=variables]", '{"offer": "10% off"}')
    await page.click("button.preview-button")
    await expect(page.locator(".preview-text")).to_contain_text("10% off!")
    await expect(page.locator(".preview-subject")).to_contain_text("Hello ")

    await page.click("nav.tabs a[href='#/settings/users']")
    await expect(page.locator("table.users")).to_contain_text(demo.admin.email)
    assert console.problems == []
    await page.close()


async def test_users_are_listed_invited_and_given_roles(  # type: ignore[no-untyped-def]
    served: Served, browser: Any, demo: Any,
) -> None:
    from playwright.async_api import expect

    from db.sql import fetch
    from tests.factories import make_user

    colleague = await make_user(demo.org, name="Colleague Console")
    console = await open_console(browser, served, demo.admin, "/settings/users")
    page = console.page
    row = page.locator("table.users tbody tr", has_text=colleague.email)
    await expect(row).to_be_visible()  # the `users` query lists every user, owners or not
    async with page.expect_response(lambda r: "/graphql" in r.url and r.request.post_data
                                    is not None and "updateUserRole" in r.request.post_data):
        await row.locator("select").select_option("MANAGER")
    listed = await graphql(served, demo.admin, "{ users(first: 100) { nodes { email role } } }")
    assert {"email": colleague.email, "role": "MANAGER"} in listed["users"]["nodes"]

    form = page.locator("form", has=page.locator("input[name=email]"))
    await form.locator("input[name=email]").fill("new.hire@example.com")
    await form.locator("select[name=role]").select_option("VIEWER")
    await form.locator("button[type=submit]").click()
    await expect(form.locator("input[name=email]")).to_have_value("")  # accepted, form reset
    invited = await fetch("SELECT kind, mime FROM email_message WHERE recipient = $1",
                          ["new.hire@example.com"])
    assert [r["kind"] for r in invited] == ["INVITATION"]
    assert console.problems == []
    await page.close()

    # the emailed link opens the console's invitation page: a name, a password, and in
    mail = message_from_bytes(invited[0]["mime"], policy=policy.default)
    body = mail.get_body(("plain",))
    assert body is not None
    found = re.search(r"/console#/invitation\?token=\S+", body.get_content())
    assert found is not None
    newcomer = await browser.new_page()
    problems: list[str] = []
    newcomer.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    await newcomer.goto(served.url + found.group(0))
    await newcomer.fill("#account-name", "New Hire")
    await newcomer.fill("#account-password", "short")
    await newcomer.click("form.account-link button[type=submit]")
    await expect(newcomer.locator("#account-password")).to_have_attribute("aria-invalid", "true")
    await newcomer.fill("#account-password", "a long enough password")
    await newcomer.click("form.account-link button[type=submit]")
    await expect(newcomer.locator("header .user")).to_have_text("New Hire (viewer)")
    await expect(newcomer.locator(".kpi").first).to_be_visible()
    await newcomer.close()

    # a reset link opens its page the same way, and signs the colleague in
    async with httpx.AsyncClient(base_url=served.url) as anyone:
        await anyone.post("/graphql", json={"query": "mutation($e: String!) {"
                          " requestPasswordReset(email: $e) { errors { code } } }",
                          "variables": {"e": colleague.email}})
    [reset] = await fetch("SELECT mime FROM email_message WHERE recipient = $1"
                          " AND kind = 'PASSWORD_RESET'", [colleague.email])
    body = message_from_bytes(reset["mime"], policy=policy.default).get_body(("plain",))
    assert body is not None
    found = re.search(r"/console#/reset-password\?token=\S+", body.get_content())
    assert found is not None
    returning = await browser.new_page()
    returning.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    await returning.goto(served.url + found.group(0))
    await returning.fill("#account-password", "a brand new password")
    await returning.click("form.account-link button[type=submit]")
    await expect(returning.locator("header .user")).to_have_text("Colleague Console (manager)")
    assert problems == []
    await returning.close()
