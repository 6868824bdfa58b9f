"""The console at /console: its page and assets (fast, in-process), and the app itself in a
real browser (Debian's chromium driven by Playwright) against uvicorn on the demo data."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn

from app import console
from app.main import create_app
from core import database
from services.live.pubsub import Broker
from tests.factories import PASSWORD, token_for
from tests.resolvers.test_subscription import until

ASSETS = Path(console.__file__).parent / console.ASSETS_DIRECTORY
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # a name, never fetched
IMPORT = re.compile(r"""^\s*(?:import|export)\b[^;]*?\bfrom\s+["']([^"']+)["']""", re.MULTILINE)
CONTENT_TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",)}


def _assets() -> list[Path]:
    return sorted(p for p in ASSETS.rglob("*") if p.is_file())


async def test_console_page_is_served_with_its_policy(http: httpx.AsyncClient) -> None:
    response = await http.get("/console")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<script type="module" src="/console/static/main.js"></script>' in page
    assert "<script>" not in page  # no inline script: the policy admits only 'self' and hashes
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert not ABSOLUTE_URL.search(page)


async def test_every_asset_is_served_with_its_content_type(http: httpx.AsyncClient) -> None:
    assets = _assets()
    assert {p.name for p in assets} >= {"main.js", "console.css", "dashboard.js", "live.js"}
    for path in assets:
        response = await http.get(f"/console/static/{path.relative_to(ASSETS).as_posix()}")
        assert response.status_code == 200, path
        assert response.headers["content-type"].split(";")[0] in CONTENT_TYPES[path.suffix], path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.content == path.read_bytes()


def test_no_asset_references_an_external_url() -> None:
    for path in _assets():
        text = path.read_text().replace(SVG_NAMESPACE, "")
        assert not ABSOLUTE_URL.search(text), (path, ABSOLUTE_URL.search(text))
        assert "@import" not in text, path
        assert "url(" not in text, path


def test_modules_import_only_each_other() -> None:
    """Every import is relative and names a shipped file: the module graph is closed."""
    for path in ASSETS.rglob("*.js"):
        for target in IMPORT.findall(path.read_text()):
            assert target.startswith(("./", "../")), (path, target)
            assert (path.parent / target).resolve().is_file(), (path, target)


# --- in a real browser ------------------------------------------------------------------------

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


@pytest.fixture(scope="module")
async def served(db: str, settings) -> AsyncIterator[Served]:  # type: ignore[no-untyped-def]
    """The whole app under uvicorn in this process (a real socket the browser connects to)."""
    app = create_app(settings, db)
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
    yield Served(f"http://127.0.0.1:{port}", broker)
    server.should_exit = True
    await task
    await broker.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    if CHROMIUM is None:
        pytest.fail(MISSING_BROWSER)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield browser
        finally:
            await browser.close()


LOG = """mutation($input: LogInteractionInput!) {
  logInteraction(input: $input) { interaction { id } errors { code message } } }"""


async def test_console_in_a_browser(  # type: ignore[no-untyped-def]
    served: Served, browser: Any, demo: Any, settings,
) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=WAIT_MS)
    page = await browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400
            else None)

    await page.goto(f"{served.url}/console")
    await page.fill("#login-email", demo.admin.email)
    await page.fill("#login-password", PASSWORD)
    await page.click("form.login button[type=submit]")

    # the dashboard: KPIs and charts, each an SVG with axes and a table of its numbers
    await expect(page.locator(".kpi")).to_have_count(5)
    charts = page.locator("figure.chart")
    await expect(charts).to_have_count(3)
    for title in ("Revenue by month", "Churn risk distribution", "Segments"):
        chart = charts.filter(has=page.get_by_role("heading", name=title))
        await expect(chart.locator("svg .axis-x")).to_have_count(1)
        await expect(chart.locator("svg .axis-y")).to_have_count(1)
        assert await chart.locator("svg title").count() > 0, title
        assert await chart.locator("table tbody tr").count() > 0, title
    revenue = charts.filter(has=page.get_by_role("heading", name="Revenue by month"))
    await expect(revenue.locator("polygon.band")).to_have_count(1)
    histogram = charts.filter(has=page.get_by_role("heading", name="Churn risk distribution"))
    bars = [int(v) for v in await histogram.locator("rect[data-value]").evaluate_all(
        "rects => rects.map(r => r.dataset.value)")]
    assert len(bars) == 10
    assert sum(bars) == await _scored_customers(served, demo, settings)  # the API's own figure
    at_risk = page.locator("table.at-risk tbody tr")
    await expect(at_risk.first).to_be_visible()

    # open the customer most at risk: its 360, with an inline edit refused by the API
    name = await at_risk.first.locator("a").inner_text()
    await at_risk.first.locator("a").click()
    await expect(page.get_by_role("heading", level=2, name=name)).to_be_visible()
    await expect(page.locator(".churn-risk")).to_be_visible()
    await expect(page.locator(".live-status")).to_have_text("live")
    await page.click("dd[data-field=email] button.edit")
    await page.fill("#field-email-input", "not an email")
    await page.click("dd[data-field=email] button[type=submit]")
    await expect(page.locator("#field-email-error")).to_contain_text("valid email")
    await expect(page.locator("#field-email-input")).to_have_attribute("aria-invalid", "true")

    # an interaction logged through the API by another client appears live on the timeline
    customer_id = await page.evaluate("decodeURIComponent(location.hash.split('/')[2])")
    await until(lambda: served.broker.subscriber_count(demo.org.id) >= 1)
    headers = {"Authorization": f"Bearer {token_for(demo.admin, settings)}"}
    async with httpx.AsyncClient(base_url=served.url, headers=headers) as other_client:
        response = await other_client.post("/graphql", json={"query": LOG, "variables": {
            "input": {"customerId": customer_id, "channel": "PHONE", "direction": "INBOUND",
                      "subject": "Live from the test"}}})
    logged = response.json()["data"]["logInteraction"]
    assert logged["errors"] == []
    item = page.locator(f"li.interaction[data-id='{logged['interaction']['id']}']")
    await expect(item).to_contain_text("Live from the test")

    await page.click("button.logout")
    await expect(page.locator("#login-email")).to_be_visible()
    assert problems == []
    await page.close()



async def _scored_customers(served: Served, demo: Any, settings: Any) -> int:
    headers = {"Authorization": f"Bearer {token_for(demo.admin, settings)}"}
    async with httpx.AsyncClient(base_url=served.url, headers=headers) as client:
        response = await client.post("/graphql", json={
            "query": "{ customerStats { groups { scoredCount } } }"})
    [group] = response.json()["data"]["customerStats"]["groups"]
    count: int = group["scoredCount"]
    assert count > 0
    return count
