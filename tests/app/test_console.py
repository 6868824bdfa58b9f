"""The console at /console: its page and assets (fast, in-process), and the app itself in a
real browser (Debian's chromium driven by Playwright) against uvicorn on the demo data."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from app import console
from services.email.outbox import Worker
from tests.app.console_browser import Served, browser, graphql, open_console, served
from tests.email_helpers import email_settings
from tests.resolvers.test_subscription import until
from tests.smtp import smtp_sink

__all__ = ["browser", "served"]  # fixtures of tests/app/console_browser.py

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

LOG = """mutation($input: LogInteractionInput!) {
  logInteraction(input: $input) { interaction { id } errors { code message } } }"""
CHARTS = ("Revenue by month", "Churn risk distribution", "Pipeline by stage", "Email outcomes",
          "Segments")


async def test_console_in_a_browser(served: Served, browser: Any, demo: Any) -> None:
    from playwright.async_api import expect

    console = await open_console(browser, served, demo.admin)
    page = console.page

    # the dashboard: KPIs and charts, each an SVG with axes, tooltips and a table of its numbers
    await expect(page.locator(".kpi")).to_have_count(5)
    charts = page.locator("figure.chart")
    await expect(charts).to_have_count(len(CHARTS))
    for title in CHARTS:
        chart = _chart(page, title)
        await expect(chart.locator("svg .axis-x")).to_have_count(1)
        await expect(chart.locator("svg .axis-y")).to_have_count(1)
        assert await chart.locator("svg title").count() > 0, title
        assert await chart.locator("table tbody tr").count() > 0, title
    await expect(_chart(page, "Revenue by month").locator("polygon.band")).to_have_count(1)
    await _charts_equal_the_api(page, served, demo)
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
    # admins see the audit trail (a refused edit changes nothing, so records nothing)
    await expect(page.get_by_role("region", name="Audit trail")).to_contain_text("No changes")

    # an interaction logged through the API by another client appears live on the timeline
    customer_id = await page.evaluate("decodeURIComponent(location.hash.split('/')[2])")
    await until(lambda: served.broker.subscriber_count(demo.org.id) >= 1)
    logged = (await graphql(served, demo.admin, LOG, input={
        "customerId": customer_id, "channel": "PHONE", "direction": "INBOUND",
        "subject": "Live from the test"}))["logInteraction"]
    assert logged["errors"] == []
    item = page.locator(f"li.interaction[data-id='{logged['interaction']['id']}']")
    await expect(item).to_contain_text("Live from the test")

    await page.click("button.logout")
    await expect(page.locator("#login-email")).to_be_visible()
    assert console.problems == []
    await page.close()


RECIPIENTS = "{ customers(first: 50, orderBy: NAME_ASC) { nodes { id email emailOptOut } } }"


async def test_an_email_sent_from_the_console_changes_status_live(  # type: ignore[no-untyped-def]
    served: Served, browser: Any, demo: Any, settings,
) -> None:
    from playwright.async_api import expect

    nodes = (await graphql(served, demo.admin, RECIPIENTS))["customers"]["nodes"]
    recipient = next(c for c in nodes if c["email"] and not c["emailOptOut"])
    console = await open_console(browser, served, demo.admin, f"/customers/{recipient['id']}")
    page = console.page
    await expect(page.locator(".live-status")).to_have_text("live")
    await page.fill("#email-subject", "Your order")
    await page.fill("#email-text", "It ships tomorrow.")
    await page.click("button.preview-email")
    await expect(page.locator(".preview-subject")).to_have_text("Your order")
    await page.click("form.send-email button.send")
    email = page.locator("li.interaction", has_text="Your order")
    await expect(email.locator(".email-status")).to_have_text("queued")

    # an email worker (another client of the database) sends it: the page follows
    await until(lambda: served.broker.subscriber_count(demo.org.id) >= 2)
    async with smtp_sink() as sink:
        worker = Worker(email_settings(settings, sink.port), org_ids=[demo.org.id])
        assert await worker.send_due(worker.mailer_factory()) >= 1
    assert [str(r.message["Subject"]) for r in sink.received] == ["Your order"]
    await expect(email.locator(".email-status")).to_have_text("sent")

    # the dashboard's email outcomes count it, as the API does
    await page.click("nav a[data-route=dashboard]")
    await expect(page.locator("figure.chart")).to_have_count(len(CHARTS))
    emails = await graphql(served, demo.admin, EMAIL_STATS, since=_year_start())
    assert _email_values(emails)[0] >= 1
    await _charts_equal_the_api(page, served, demo)
    assert console.problems == []
    await page.close()


# --- each chart's numbers are the API's ---------------------------------------------------------

REVENUE = """query($since: DateTime!) {
  orderStats(filter: {statuses: [PAID], placedAfter: $since}, groupBy: [MONTH]) {
    groups { currency total { amount } } }
  salesForecast(months: 6) { months { expected { amount } } }
  viewer { organization { currency } }
  segments { size }
  dealStats { amount { amount currency } weightedAmount { amount currency } }
}"""
EMAIL_STATS = """query($since: DateTime!) {
  emailStats(since: $since) { sent bounced failed queued optedOut } }"""


def _chart(page: Any, title: str) -> Any:
    return page.locator("figure.chart").filter(has=page.get_by_role("heading", name=title))


async def _values(page: Any, title: str, marks: str = "[data-value]") -> list[float]:
    found = await _chart(page, title).locator(f"svg {marks}").evaluate_all(
        "marks => marks.map(m => m.dataset.value)")
    return [round(float(v), 2) for v in found]


def _year_start() -> str:
    now = datetime.now(UTC)
    month = now.year * 12 + now.month - 1 - 11
    return datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC).isoformat()


def _email_values(data: dict[str, Any]) -> list[float]:
    stats = data["emailStats"]
    return [float(stats[k]) for k in ("sent", "bounced", "failed", "queued", "optedOut")]


def _amounts(moneys: list[dict[str, Any]], currency: str) -> float:
    return round(sum(float(m["amount"]) for m in moneys if m["currency"] == currency), 2)


async def _charts_equal_the_api(page: Any, served: Served, demo: Any) -> None:
    data = await graphql(served, demo.admin, REVENUE, since=_year_start())
    currency = data["viewer"]["organization"]["currency"]
    paid = sorted(round(float(g["total"]["amount"]), 2)
                  for g in data["orderStats"]["groups"] if g["currency"] == currency)
    assert paid
    assert sorted(v for v in await _values(page, "Revenue by month", "rect") if v) == paid
    expected = [round(float(m["expected"]["amount"]), 2) for m in data["salesForecast"]["months"]]
    assert await _values(page, "Revenue by month", "circle") == expected
    assert await _values(page, "Segments") == [float(s["size"]) for s in data["segments"]]
    stages = data["dealStats"]
    assert any(s["amount"] for s in stages)  # the demo has open deals
    value = _chart(page, "Pipeline by stage").locator("[data-series='Value'] [data-value]")
    weighted = _chart(page, "Pipeline by stage").locator(
        "[data-series='Weighted value'] [data-value]")
    script = "marks => marks.map(m => Number(m.dataset.value))"
    assert [round(v, 2) for v in await value.evaluate_all(script)] == [
        _amounts(s["amount"], currency) for s in stages]
    assert [round(v, 2) for v in await weighted.evaluate_all(script)] == [
        _amounts(s["weightedAmount"], currency) for s in stages]
    emails = await graphql(served, demo.admin, EMAIL_STATS, since=_year_start())
    assert await _values(page, "Email outcomes") == _email_values(emails)
    assert sum(await _values(page, "Churn risk distribution")) == await _scored(served, demo)


async def _scored(served: Served, demo: Any) -> int:
    data = await graphql(served, demo.admin, "{ customerStats { groups { scoredCount } } }")
    [group] = data["customerStats"]["groups"]
    count: int = group["scoredCount"]
    assert count > 0
    return count


def test_the_javascript_stays_within_its_budget() -> None:
    """250 KB of compressed JavaScript at most (the issue's budget; bench/CONSOLE.md: 42 KB)."""
    import gzip

    packed = sum(len(gzip.compress(p.read_bytes(), 9)) for p in ASSETS.rglob("*.js"))
    assert packed < 250 * 1024
