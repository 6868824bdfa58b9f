"""CSV import and export of customers, orders, products, companies and deals: streaming,
batched and idempotent."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from core.errors import FieldError
from db import audit, bulk, bulk_companies, bulk_deals, bulk_products
from db import company as companies
from db import custom_field as custom_fields
from db import customer as customers
from db import exchange_rate as rates
from db.models import Organization
from db.sql import fetch, replica
from db.user import get_organization
from services.csv import custom
from services.csv.rows import COLUMNS, CsvError, Kind, check_header, format_row, parse_row

__all__ = ["CsvError", "ImportReport", "Rejected", "export_csv", "import_csv"]

EXPORT_BATCH = 1_000
_SNAKE = str.maketrans({c: f"_{c.lower()}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
_EXPORT_SQL = {
    "customers": (
        f"SELECT {customers.COLUMNS}, t.created_at AS sort_key FROM customer t"
        " WHERE t.organization_id = $1 AND t.deleted_at IS NULL"
        " AND (t.created_at, t.id) > ($2, $3) ORDER BY t.created_at, t.id LIMIT $4"
    ),
    # orders of deleted customers stay out: an import could not attach them to anyone
    "orders": (
        "SELECT t.id, t.external_ref, c.external_ref AS customer_external_ref,"
        " c.email AS customer_email, t.amount, t.currency, t.status, t.placed_at,"
        " t.placed_at AS sort_key FROM customer_order t JOIN customer c ON c.id = t.customer_id"
        " WHERE t.organization_id = $1 AND c.deleted_at IS NULL"
        " AND (t.placed_at, t.id) > ($2, $3) ORDER BY t.placed_at, t.id LIMIT $4"
    ),
    "products": (
        "SELECT t.id, t.sku, t.name, t.category, t.price, t.currency, t.active,"
        " t.created_at AS sort_key FROM product t WHERE t.organization_id = $1"
        " AND (t.created_at, t.id) > ($2, $3) ORDER BY t.created_at, t.id LIMIT $4"
    ),
    "companies": (
        f"SELECT {companies.COLUMNS}, t.created_at AS sort_key FROM company t"
        " WHERE t.organization_id = $1 AND t.deleted_at IS NULL"
        " AND (t.created_at, t.id) > ($2, $3) ORDER BY t.created_at, t.id LIMIT $4"
    ),
    # the pipeline and stage by name, the company by domain and name (as the import finds them)
    "deals": (
        "SELECT t.id, t.external_ref, t.name, t.amount, t.currency, p.name AS pipeline_name,"
        " s.name AS stage_name, t.probability, t.expected_close_on, t.status, t.lost_reason,"
        " c.domain AS company_domain, c.name AS company_name, t.custom_fields,"
        " t.created_at AS sort_key"
        " FROM deal t JOIN pipeline p ON p.id = t.pipeline_id"
        " JOIN pipeline_stage s ON s.id = t.stage_id LEFT JOIN company c ON c.id = t.company_id"
        " WHERE t.organization_id = $1 AND t.deleted_at IS NULL"
        " AND (t.created_at, t.id) > ($2, $3) ORDER BY t.created_at, t.id LIMIT $4"
    ),
    "rates": (
        "SELECT t.id, t.currency, t.valid_on, t.rate, t.created_at AS sort_key"
        " FROM exchange_rate t WHERE t.organization_id = $1"
        " AND (t.created_at, t.id) > ($2, $3) ORDER BY t.created_at, t.id LIMIT $4"
    ),
}
_KEYS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "customers": bulk.customer_key, "orders": bulk.order_key,
    "products": bulk_products.product_key, "companies": bulk_companies.company_key,
    "deals": bulk_deals.deal_key, "rates": rates.rate_key,
}


@dataclass(frozen=True)
class Rejected:
    """A row left out of an import, by its line in the file (the header is line 1)."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did, row by row in counts; rejected rows with their reasons."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people, e.g. ``customers: 3 created, 1 updated, ...``."""
        return (
            f"{self.kind}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.rejected)} rejected"
        )

    def count(self, line: int, result: bulk.RowResult) -> None:
        """Add the outcome of the row on ``line``."""
        if result.status == "failed":
            self.rejected.append(Rejected(line, _reason(result.errors)))
        else:
            setattr(self, result.status, getattr(self, result.status) + 1)


def _reason(errors: list[FieldError]) -> str:
    """Errors as ``column: message`` (API field names turned back into CSV columns)."""
    return "; ".join(f"{_column(e.field)}: {e.message}" for e in errors)


def _column(path: tuple[str, ...]) -> str:
    """The CSV column of an error path: ``custom.<key>`` for ``customFields.<key>``."""
    if len(path) >= 2 and path[-2] == "customFields":
        return f"{custom.PREFIX}{path[-1]}"
    return path[-1].translate(_SNAKE)


async def _organization(org: str) -> Organization:
    organization = await get_organization(org)
    if organization is None:
        raise CsvError(f"no organization with the name or slug {org!r}")
    return organization


class _Reader:
    """Records of a UTF-8 CSV file, read a line at a time, counting the bytes read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bytes_read = 0

    def _lines(self) -> Iterator[str]:
        with self.path.open("rb") as file:
            for number, raw in enumerate(file, 1):
                self.bytes_read += len(raw)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise CsvError(f"line {number} is not valid UTF-8") from None
                yield text.removeprefix("\ufeff") if number == 1 else text

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(first physical line, cells) of every non-blank record."""
        reader = csv.reader(self._lines(), strict=True)
        last = 0
        try:
            for cells in reader:
                start, last = last + 1, reader.line_num
                if any(cell.strip() for cell in cells):
                    yield start, cells
        except csv.Error as exc:
            raise CsvError(f"line {reader.line_num}: {exc}") from None


def _rows(
    kind: Kind, reader: _Reader, report: ImportReport, defined: custom.Definitions
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, upsert fields) of each readable row; unreadable rows go to the report."""
    records = reader.records()
    first = next(records, None)
    if first is None:
        raise CsvError("the file is empty; it needs a header row")
    header = check_header(kind, first[1], tuple(custom.columns(defined)))
    for line, cells in records:
        if len(cells) != len(header):
            report.rejected.append(Rejected(
                line, f"has {len(cells)} fields where the header has {len(header)}"))
            continue
        given = dict(zip(header, cells, strict=True))
        typed = {c: given.pop(c) for c in list(given) if c.startswith(custom.PREFIX)}
        try:
            row = parse_row(given, kind)
            if typed:
                row[bulk.CUSTOM_FIELDS_PATCH] = custom.parse(defined, typed)
            yield line, row
        except ValueError as exc:
            report.rejected.append(Rejected(line, str(exc)))


async def import_csv(
    kind: Kind, path: Path, org: str, *, progress: Callable[[int], None] | None = None,
    batch_size: int = 1000,
) -> ImportReport:
    """Create or update the organization's customers, orders or products from a CSV file."""
    if not 1 <= batch_size <= bulk.MAX_ROWS:
        raise ValueError(f"batch_size must be between 1 and {bulk.MAX_ROWS}")
    organization = await _organization(org)
    report = ImportReport(kind)
    reader = _Reader(path)
    key_of = _KEYS[kind]
    first_line: dict[str, int] = {}
    batch: list[tuple[int, dict[str, Any]]] = []
    analyze_at = bulk.MAX_ROWS
    defined = await _definitions(kind, organization.id)
    for line, row in _rows(kind, reader, report, defined):
        key = key_of(row)
        if key is not None and first_line.setdefault(key, line) != line:
            report.rejected.append(Rejected(line, f"repeats the key of line {first_line[key]}"))
            continue
        batch.append((line, row))
        if len(batch) == batch_size:
            await _upsert(kind, organization.id, batch, report)
            batch = []
            if report.created >= analyze_at and kind in ("customers", "orders"):
                await bulk.refresh_statistics(kind)
                analyze_at = 2 * report.created
            if progress:
                progress(reader.bytes_read)
    await _upsert(kind, organization.id, batch, report)
    if progress:
        progress(reader.bytes_read)
    report.rejected.sort(key=lambda r: r.line)
    await _audit(f"cliImport{kind.title()}", organization.id,
                 report.created + report.updated + report.unchanged)
    return report


_CUSTOM_FIELD_OBJECTS = {"customers": custom_fields.ObjectType.CUSTOMER,
                         "companies": custom_fields.ObjectType.COMPANY,
                         "deals": custom_fields.ObjectType.DEAL}


async def _definitions(kind: Kind, org_id: int) -> custom.Definitions:
    """The custom fields a file of ``kind`` may carry (customers', companies' and deals')."""
    if kind not in _CUSTOM_FIELD_OBJECTS:
        return {}
    return await custom_fields.by_key(org_id=org_id, object_type=_CUSTOM_FIELD_OBJECTS[kind])


async def _audit(action: str, org_id: int, count: int) -> None:
    """Audit a bulk transfer of personal data. It has no actor: whoever runs the CLI holds
    the database's credentials, beyond any role."""
    await audit.record(audit.Event(organization_id=org_id, action=action, item_count=count))


async def _upsert(
    kind: Kind, org_id: int, batch: list[tuple[int, dict[str, Any]]], report: ImportReport
) -> None:
    if not batch:
        return
    rows = [row for _, row in batch]
    if kind == "customers":
        results = await bulk.upsert_customers(org_id=org_id, rows=rows)
    elif kind == "orders":
        results = await bulk.upsert_orders(org_id=org_id, rows=rows)
    elif kind == "companies":
        results = await bulk_companies.upsert_companies(org_id=org_id, rows=rows)
    elif kind == "deals":
        results = await bulk_deals.upsert_deals(org_id=org_id, user_id=None, rows=rows)
    elif kind == "rates":
        results = await rates.set_rates(org_id=org_id, rows=rows)
    else:
        results = await bulk_products.upsert_products(org_id=org_id, rows=rows)
    for (line, _), result in zip(batch, results, strict=True):
        report.count(line, result)


async def export_csv(kind: Kind, org: str, out: TextIO) -> int:
    """Write the organization's live records of a kind as CSV (the import format)."""
    organization = await _organization(org)
    writer = csv.writer(out)
    defined = await _definitions(kind, organization.id)
    writer.writerow([*COLUMNS[kind], *custom.columns(defined)])
    count, after = 0, (datetime(1, 1, 1, tzinfo=UTC), 0)
    while True:
        rows = await fetch(
            _EXPORT_SQL[kind], [organization.id, *after, EXPORT_BATCH], replica()
        )
        writer.writerows([*format_row(kind, row), *custom.cells(defined, row.get("custom_fields"))]
                         for row in rows)
        count += len(rows)
        if len(rows) < EXPORT_BATCH:
            await _audit(f"cliExport{kind.title()}", organization.id, count)
            return count
        after = (rows[-1]["sort_key"], rows[-1]["id"])
