"""The console's customer list in a real browser: paging on scroll, the filter builder (the same
customers as the API for the same filter), orderings, saved views kept across a reload, and the
CSV export of the current filter."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from services.csv.rows import COLUMNS
from tests.app.console_browser import Served, browser, graphql, open_console, served

__all__ = ["browser", "served"]  # fixtures of tests/app/console_browser.py

CUSTOMERS = """query($first: Int!, $filter: CustomerFilter, $orderBy: CustomerOrderBy!) {
  customers(first: $first, filter: $filter, orderBy: $orderBy) { totalCount nodes { id } } }"""
SEGMENTS = "{ segments { name } }"
VIEWS = "{ savedViews { id name filter orderBy } }"


async def _api(served: Served, demo: Any, filter_: Any, order: str, first: int = 25) -> Any:
    data = await graphql(served, demo.admin, CUSTOMERS, first=first, filter=filter_, orderBy=order)
    return data["customers"]


async def _rows(page: Any) -> list[str]:
    ids: list[str] = await page.locator("table.customers tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.id)")
    return ids


async def test_the_list_pages_on_scroll(served: Served, browser: Any, demo: Any) -> None:
    from playwright.async_api import expect

    console = await open_console(browser, served, demo.admin, "/customers")
    page = console.page
    rows = page.locator("table.customers tbody tr")
    await expect(rows).to_have_count(25)
    await page.locator("button.more").scroll_into_view_if_needed()
    await expect(rows).to_have_count(50)
    expected = await _api(served, demo, None, "CREATED_AT_DESC", first=50)
    assert await _rows(page) == [n["id"] for n in expected["nodes"]]
    assert console.problems == []
    await page.close()


def _quiet_big_spenders(segment: str) -> dict[str, Any]:
    return {"and": [{"orders": {"totalSpent": {"gte": "100"}}},
                    {"not": {"or": [{"segments": [segment]}, {"minChurnRisk": 0.5}]}}]}


async def test_a_built_filter_lists_the_apis_customers_and_saves_as_a_view(  # type: ignore[no-untyped-def]
    served: Served, browser: Any, demo: Any, tmp_path: Path,
) -> None:
    from playwright.async_api import expect

    # the segment this filter leaves the most customers outside of (which one that is depends on
    # the day the demo was seeded and trained; the check below still needs a real split)
    segments = [s["name"] for s in (await graphql(served, demo.admin, SEGMENTS))["segments"]]
    counts = {s: (await _api(served, demo, _quiet_big_spenders(s), "NAME_ASC"))["totalCount"]
              for s in segments}
    segment = max(segments, key=lambda s: counts[s])
    console = await open_console(browser, served, demo.admin, "/customers")
    page = console.page
    await expect(page.locator("table.customers tbody tr")).to_have_count(25)

    # all of: spent at least 100, and not (in the segment, or churn risk at least 50%)
    top = page.locator("fieldset.depth-0")
    await top.locator("> .toolbar .add-condition").click()
    condition = top.locator("> ul.conditions > li.condition").first
    await condition.locator(".condition-kind").select_option("totalSpent")
    await condition.locator(".condition-value").fill("100")
    await top.locator("> .toolbar .add-group").click()
    group = page.locator("fieldset.depth-1")
    await group.locator(".condition-kind").select_option("segment")
    await group.locator(".condition-value").select_option(segment)
    await group.locator("> .toolbar .add-condition").click()
    risk = group.locator("li.condition").nth(1)
    await risk.locator(".condition-kind").select_option("churnRisk")
    await risk.locator(".condition-op").select_option("=minChurnRisk")
    await risk.locator(".condition-value").fill("50")
    await group.locator(".group-not").check()
    await page.select_option("#customer-order", "NAME_ASC")

    built = _quiet_big_spenders(segment)
    expected = await _api(served, demo, built, "NAME_ASC")
    everyone = await _api(served, demo, None, "NAME_ASC")
    assert 0 < expected["totalCount"] < everyone["totalCount"]  # the filter tells customers apart
    total = page.locator(".customer-total")
    await expect(total).to_have_attribute("data-count", str(expected["totalCount"]))
    assert await _rows(page) == [n["id"] for n in expected["nodes"]]

    # CSV export of the current filter, in the import format
    async with page.expect_download() as download_info:
        await page.click("button.export")
    target = tmp_path / "customers.csv"
    await (await download_info.value).save_as(target)
    exported = list(csv.reader(io.StringIO(target.read_text())))
    assert exported[0] == list(COLUMNS["customers"])  # what `crm import` reads
    assert len(exported) == 1 + expected["totalCount"]

    # saved for this user, and shown again after a reload
    await page.fill("#saved-view-name", "Quiet big spenders")
    await page.click("form.save-view button[type=submit]")
    await expect(page.locator("#saved-view option:checked")).to_have_text("Quiet big spenders")
    [view] = (await graphql(served, demo.admin, VIEWS))["savedViews"]
    assert view["name"] == "Quiet big spenders"
    assert view["filter"] == built
    assert view["orderBy"] == "NAME_ASC"
    assert f"view={view['id']}" in page.url
    await page.reload()
    await expect(total).to_have_attribute("data-count", str(expected["totalCount"]))
    await expect(page.locator("li.condition")).to_have_count(3)
    await expect(page.locator("#customer-order")).to_have_value("NAME_ASC")
    assert await _rows(page) == [n["id"] for n in expected["nodes"]]
    assert console.problems == []
    await page.close()


CREATE = """mutation($input: CreateCustomerInput!) { createCustomer(input: $input) {
  customer { id } errors { message } } }"""
MERGED_INTO = "query($id: ID!) { customerMergedInto(id: $id) { id } }"


async def test_a_duplicate_is_previewed_and_merged_from_customer_360(  # type: ignore[no-untyped-def]
    served: Served, browser: Any, demo: Any,
) -> None:
    from playwright.async_api import expect

    ids = []
    for email, company in (("marta.q@example.com", None), ("mq@example.org", "Quintero SL")):
        made = (await graphql(served, demo.admin, CREATE, input={
            "name": "Marta Quintero Lopez", "phone": "+34911234567", "email": email,
            "company": company}))["createCustomer"]
        assert made["errors"] == []
        ids.append(made["customer"]["id"])
    primary, duplicate = ids
    console = await open_console(browser, served, demo.admin, f"/customers/{primary}")
    page = console.page
    candidate = page.locator(f"li.duplicate[data-id='{duplicate}']")
    await candidate.locator("button.preview-merge").click()
    # the primary's empty company is filled from the duplicate; both emails differ, its own wins
    changed = candidate.locator("table.merge-changes tbody tr")
    await expect(changed).to_have_count(1)
    await expect(changed.first).to_contain_text("Quintero SL")
    email = candidate.locator("table.merge-conflicts tr", has_text="mq@example.org")
    await expect(email).to_contain_text("marta.q@example.com")
    await candidate.locator("button.merge").click()
    await expect(page.locator("dd[data-field=company]")).to_contain_text("Quintero SL")
    merged = await graphql(served, demo.admin, MERGED_INTO, id=duplicate)
    assert merged["customerMergedInto"]["id"] == primary
    assert console.problems == []
    await page.close()
