"""CSV import and export of companies and deals: round trips and per-line reports."""

from __future__ import annotations

import io
from pathlib import Path

from db.sql import fetch
from services.csv.transfer import Rejected, export_csv, import_csv
from tests.factories import make_org

COMPANIES = """domain,name,industry,size,city,country
https://www.acme.example/about,Acme,Machinery,MEDIUM,Berlin,de
,Corner Shop,Retail,micro,,
not a domain,Broken,,,,
,Big Co,,HUGE,,
globex.example,Globex,,,Springfield,US
"""
DEALS = """external_ref,name,amount,currency,stage_name,probability,expected_close_on,status,\
lost_reason,company_domain,company_name
D-1,Press line,250000,EUR,Proposal,,2027-03-01,OPEN,,acme.example,
,Shelves,1200.50,EUR,,40,,OPEN,,,Corner Shop
D-2,Lost one,900,USD,Negotiation,,,LOST,Too expensive,globex.example,
D-3,Nowhere,5,EUR,,,,OPEN,,nowhere.example,
D-4,Bad date,5,EUR,,,2027-13-01,OPEN,,,
D-5,Bad stage,5,EUR,Nope,,,OPEN,,,
"""


def write(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


async def _export(kind: str, org: str) -> str:
    out = io.StringIO()
    await export_csv(kind, org, out)  # type: ignore[arg-type]
    return out.getvalue()


async def test_companies_and_deals_import_with_reasons_by_line(tmp_path: Path, org) -> None:
    companies = await import_csv("companies", write(tmp_path, COMPANIES, "c.csv"), org.slug)
    assert (companies.created, companies.updated) == (3, 0)
    assert companies.rejected == [
        Rejected(4, "domain: is not a valid domain such as example.com"),
        Rejected(5, "size: must be one of MICRO, SMALL, MEDIUM, LARGE, ENTERPRISE"),
    ]
    deals = await import_csv("deals", write(tmp_path, DEALS, "d.csv"), org.slug)
    assert deals.created == 3
    assert [r.line for r in deals.rejected] == [5, 6, 7]
    assert deals.rejected[0].reason == "company_domain: no company has this domain"
    assert deals.rejected[1].reason.startswith("expected_close_on: is not an ISO 8601 date")
    assert deals.rejected[2].reason.startswith("stage_name: no stage of this name")
    rows = await fetch(
        "SELECT d.name, s.name AS stage, c.name AS company FROM deal d"
        " JOIN pipeline_stage s ON s.id = d.stage_id LEFT JOIN company c ON c.id = d.company_id"
        " WHERE d.organization_id = $1 ORDER BY d.id", [org.id])
    assert [(r["name"], r["stage"], r["company"]) for r in rows] == [
        ("Press line", "Proposal", "Acme"), ("Shelves", "Qualification", "Corner Shop"),
        ("Lost one", "Negotiation", "Globex")]


async def test_export_then_import_gives_the_same_rows(tmp_path: Path, org) -> None:
    await import_csv("companies", write(tmp_path, COMPANIES, "c.csv"), org.slug)
    await import_csv("deals", write(tmp_path, DEALS, "d.csv"), org.slug)
    companies, deals = await _export("companies", org.slug), await _export("deals", org.slug)
    assert companies.splitlines()[1] == "acme.example,Acme,Machinery,MEDIUM,,Berlin,,,DE"
    assert len(deals.splitlines()) == 4

    again = await import_csv("companies", write(tmp_path, companies, "c2.csv"), org.slug)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, [])
    again = await import_csv("deals", write(tmp_path, deals, "d2.csv"), org.slug)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, [])

    other = await make_org()
    await import_csv("companies", write(tmp_path, companies, "c3.csv"), other.slug)
    await import_csv("deals", write(tmp_path, deals, "d3.csv"), other.slug)
    assert await _export("companies", other.slug) == companies
    assert await _export("deals", other.slug) == deals
    actions = await fetch("SELECT action, item_count FROM audit_event WHERE organization_id = $1"
                          " ORDER BY id", [other.id])
    assert [(a["action"], a["item_count"]) for a in actions] == [
        ("cliImportCompanies", 3), ("cliImportDeals", 3), ("cliExportCompanies", 3),
        ("cliExportDeals", 3)]


RATES = """currency,valid_on,rate
eur,2026-01-01,1.1
EUR,2026-02-01,1.2
GBP,2026-02-01,-1
USD,2026-02-01,1
CHF,2026-13-01,1
"""


async def test_rates_import_and_round_trip(tmp_path: Path, org) -> None:
    report = await import_csv("rates", write(tmp_path, RATES, "r.csv"), org.slug)
    assert report.created == 2
    assert [(r.line, r.reason.split(":")[0]) for r in report.rejected] == [
        (4, "rate"), (5, "currency"), (6, "valid_on")]
    exported = await _export("rates", org.slug)
    assert exported.splitlines() == ["currency,valid_on,rate", "EUR,2026-01-01,1.1",
                                     "EUR,2026-02-01,1.2"]
    again = await import_csv("rates", write(tmp_path, exported, "r2.csv"), org.slug)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 2, [])
