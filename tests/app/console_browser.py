"""What the console's browser tests share: the whole app under uvicorn on the demo data,
Debian's chromium driven by Playwright, a signed-in page that records every console error, and
GraphQL calls as the demo admin from another client (to compare the page with the API)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn

from app.main import create_app
from core import database
from services.live.pubsub import Broker
from tests.email_helpers import email_settings
from tests.factories import PASSWORD, token_for
from tests.resolvers.test_subscription import until

CHROMIUM = shutil.which("chromium")
MISSING_BROWSER = (
    "the console's browser test needs Debian's chromium: `apt-get install -y chromium` "
    "(.ci/run installs it)"
)
WAIT_MS = 20_000  # an upper bound for the page to show what it must; never a measured duration


@dataclass
class Served:
    url: str
    broker: Broker
    settings: Any


@dataclass
class Console:
    """A signed-in page and what went wrong on it (console errors, page errors, HTTP >= 400)."""

    page: Any
    problems: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
async def served(db: str, settings) -> AsyncIterator[Served]:  # type: ignore[no-untyped-def]
    """The whole app under uvicorn in this process (a real socket the browser connects to)."""
    # sendEmail composes with a sender (no worker sends); webhooks may go to a local receiver
    config = email_settings(settings).model_copy(update={"webhook_allow_private": True})
    app = create_app(config, db)
    params = database.connection_params(db)
    broker = Broker(lambda: asyncpg.connect(**params), queue_size=100)
    await broker.start()
    app.state.pubsub = broker
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="off", log_level="warning",
        ws="websockets-sansio",
    ))
    task = asyncio.create_task(server.serve())
    await until(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Served(f"http://127.0.0.1:{port}", broker, config)
    server.should_exit = True
    await task
    await broker.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    if CHROMIUM is None:
        pytest.fail(MISSING_BROWSER)
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield browser
        finally:
            await browser.close()


async def open_console(browser: Any, served: Served, user: Any, at: str = "") -> Console:
    """A new page signed in as ``user`` (on the dashboard, or at ``#<at>`` afterwards)."""
    from playwright.async_api import expect

    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    console = Console(page)
    page.on("console", lambda m: console.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.problems.append(str(e)))
    page.on("response", lambda r: console.problems.append(f"{r.status} {r.url}")
            if r.status >= 400 else None)
    await page.goto(f"{served.url}/console")
    await page.fill("#login-email", user.email)
    await page.fill("#login-password", PASSWORD)
    await page.click("form.login button[type=submit]")
    await expect(page.locator(".kpi").first).to_be_visible()
    if at:
        await page.goto(f"{served.url}/console#{at}")
    return console


async def graphql(served: Served, user: Any, query: str, **variables: Any) -> dict[str, Any]:
    """The data of ``query`` as ``user``, from another client than the page."""
    headers = {"Authorization": f"Bearer {token_for(user, served.settings)}"}
    async with httpx.AsyncClient(base_url=served.url, headers=headers) as client:
        response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data
