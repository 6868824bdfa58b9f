"""Company duplicates (by domain and name) and company merge, mirroring the customer design.

Duplicates of a company: live companies of the organization whose domain is the same site
(``shop.acme.example`` and ``acme.example``: 1.0) or the same name under another top-level
domain (``acme.de`` and ``acme.com``: 0.8), or whose name is similar (0.8 times the trigram
similarity of the names once legal forms such as *GmbH* or *Inc.* are left out). The best
signal counts, plus 0.1 when both domain and name agree (at most 1).

Merge policy (as mergeCustomers): the primary's non-empty values win; its empty fields are
filled from the duplicates, the most recently updated first (the address as a whole); custom
fields are merged, the primary's keys first. Memberships, deals, tasks and notes move to the
primary; the duplicates are soft-deleted with ``merged_into_id`` set, so their history stays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db.company import COLUMNS
from db.sql import Params, fetch, fetch_one

MAX_DUPLICATES = 10
FILLED = ("domain", "industry", "size", "owner_id")
ADDRESS = ("street", "city", "region", "postal_code", "country")
LEGAL_FORMS = frozenset((
    "ab", "ag", "as", "bv", "co", "company", "corp", "corporation", "gmbh", "inc", "kg", "limited",
    "llc", "llp", "ltd", "nv", "oy", "plc", "pty", "sa", "sarl", "sas", "spa", "srl", "the",
))
# second-level labels under which the registrable name is one label further left (acme.co.uk)
_SECOND_LEVEL = frozenset(("co", "com", "org", "net", "ac", "gov", "ne", "or"))
MOVES = (
    ("memberships", "UPDATE company_membership SET company_id = $2, updated_at = now()"
                    " WHERE company_id = ANY($1::bigint[]) RETURNING id"),
    ("deals", "UPDATE deal SET company_id = $2, updated_at = now()"
              " WHERE company_id = ANY($1::bigint[]) RETURNING id"),
    ("tasks", "UPDATE task SET company_id = $2, updated_at = now()"
              " WHERE company_id = ANY($1::bigint[]) RETURNING id"),
    ("notes", "UPDATE interaction SET company_id = $2 WHERE company_id = ANY($1::bigint[])"
              " RETURNING id"),
)


@dataclass
class Candidate:
    """A company that may be the same as the one asked about, with why."""

    row: dict[str, Any]
    score: float
    signals: dict[str, float] = field(default_factory=dict)


def name_core(name: str) -> str:
    """A company name without case, punctuation and legal forms: ``ACME GmbH`` -> ``acme``."""
    words = [w for w in re.findall(r"\w+", name.lower()) if w not in LEGAL_FORMS]
    return " ".join(words) or name.lower().strip()


def site_label(domain: str) -> str:
    """The registrable name of a domain: ``shop.acme.co.uk`` -> ``acme``."""
    labels = domain.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else domain


def _domain_similarity(a: str | None, b: str | None) -> float:
    if not a or not b:
        return 0.0
    if a.endswith("." + b) or b.endswith("." + a):
        return 1.0
    return 0.8 if site_label(a) == site_label(b) else 0.0


async def duplicates(
    *, org_id: int, company_id: int, min_score: float, limit: int
) -> list[Candidate] | None:
    """Live companies like this one, best first; None if there is no such live company."""
    company = await fetch_one(
        f"SELECT {COLUMNS} FROM company t WHERE t.id = $1 AND t.organization_id = $2"
        " AND t.deleted_at IS NULL", [company_id, org_id],
    )
    if company is None:
        return None
    core = name_core(company["name"])
    label = site_label(company["domain"]) if company["domain"] else None
    rows = await fetch(
        f"SELECT {COLUMNS}, similarity(lower(t.name), $3) AS name_similarity FROM company t"
        " WHERE t.organization_id = $1 AND t.deleted_at IS NULL AND t.id <> $2"
        " AND (lower(t.name) % $3 OR lower(t.name) % $4"
        " OR ($5::text IS NOT NULL AND t.domain LIKE '%' || $5 || '%'))",
        [org_id, company_id, company["name"].lower(), core, label],
    )
    found = [_scored(company, row, core) for row in rows]
    found = [c for c in found if c.score >= min_score]
    found.sort(key=lambda c: (-c.score, c.row["id"]))
    return found[:limit]


def _scored(company: dict[str, Any], row: dict[str, Any], core: str) -> Candidate:
    signals: dict[str, float] = {}
    domain = _domain_similarity(company["domain"], row["domain"])
    if domain:
        signals["DOMAIN"] = domain
    name = 1.0 if name_core(row["name"]) == core else float(row.pop("name_similarity"))
    row.pop("name_similarity", None)
    if name >= 0.3:
        signals["NAME"] = round(name, 4)
    score = max(domain, 0.8 * signals.get("NAME", 0.0))
    if domain and signals.get("NAME", 0.0) >= 0.5:
        score += 0.1
    return Candidate(row, round(min(score, 1.0), 4), signals)


def _check_ids(primary_id: int, duplicate_ids: Sequence[int]) -> None:
    errors = []
    if not duplicate_ids:
        errors.append(FieldError(ErrorCode.BAD_USER_INPUT, ("input", "duplicateIds"),
                                 "name at least one company to merge"))
    if len(duplicate_ids) > MAX_DUPLICATES:
        errors.append(FieldError(ErrorCode.BAD_USER_INPUT, ("input", "duplicateIds"),
                                 f"at most {MAX_DUPLICATES} companies per merge"))
    if primary_id in duplicate_ids:
        errors.append(FieldError(ErrorCode.BAD_USER_INPUT, ("input", "duplicateIds"),
                                 "the primary company cannot be merged into itself"))
    if len(set(duplicate_ids)) != len(duplicate_ids):
        errors.append(FieldError(ErrorCode.BAD_USER_INPUT, ("input", "duplicateIds"),
                                 "a company is named twice"))
    if errors:
        raise InputError(errors)


def _filled(primary: dict[str, Any], others: list[dict[str, Any]]) -> dict[str, Any]:
    """The primary's empty fields taken from the duplicates, most recently updated first."""
    newest = sorted(others, key=lambda r: (r["updated_at"], r["id"]), reverse=True)
    values: dict[str, Any] = {}
    for key in FILLED:
        if primary[key] is None:
            donor = next((r for r in newest if r[key] is not None), None)
            if donor is not None:
                values[key] = donor[key]
    if all(primary[k] is None for k in ADDRESS):
        donor = next((r for r in newest if any(r[k] is not None for k in ADDRESS)), None)
        if donor is not None:
            values.update({k: donor[k] for k in ADDRESS})
    custom: dict[str, Any] = {}
    for row in reversed(newest):  # oldest first, so newer and then the primary's keys win
        custom.update(row["custom_fields"] or {})
    custom.update(primary["custom_fields"] or {})
    if custom != (primary["custom_fields"] or {}):
        values["custom_fields"] = orjson.dumps(custom).decode()
    return values


async def merge(
    *, org_id: int, primary_id: int, duplicate_ids: Sequence[int]
) -> tuple[dict[str, Any], dict[str, int]]:
    """Absorb the duplicates into the primary; the primary's row after, and what moved."""
    _check_ids(primary_id, duplicate_ids)
    async with in_transaction() as conn:
        rows = {r["id"]: r for r in await fetch(
            f"SELECT {COLUMNS} FROM company t WHERE t.organization_id = $1"
            " AND t.id = ANY($2::bigint[]) AND t.deleted_at IS NULL ORDER BY t.id FOR UPDATE",
            [org_id, [primary_id, *duplicate_ids]], conn,
        )}
        _require(rows, primary_id, duplicate_ids)
        moved = {name: len(await fetch(sql, [list(duplicate_ids), primary_id], conn))
                 for name, sql in MOVES}
        await fetch(
            "UPDATE company SET merged_into_id = $2, deleted_at = now(), updated_at = now()"
            " WHERE id = ANY($1::bigint[])", [list(duplicate_ids), primary_id], conn,
        )
        values = _filled(rows[primary_id], [rows[i] for i in duplicate_ids])
        after = await _update(conn, primary_id, values) if values else rows[primary_id]
    return after, moved


def _require(rows: dict[int, Any], primary_id: int, duplicate_ids: Sequence[int]) -> None:
    errors = []
    if primary_id not in rows:
        errors.append(FieldError(ErrorCode.NOT_FOUND, ("input", "primaryId"),
                                 "company not found"))
    errors += [FieldError(ErrorCode.NOT_FOUND, ("input", "duplicateIds", str(i)),
                          "company not found")
               for i, pk in enumerate(duplicate_ids) if pk not in rows]
    if errors:
        raise InputError(errors)


async def _update(
    conn: BaseDBAsyncClient, company_id: int, values: dict[str, Any]
) -> dict[str, Any]:
    params = Params()
    sets = ", ".join(
        f"{k} = {params.add(v)}::jsonb" if k == "custom_fields" else f"{k} = {params.add(v)}"
        for k, v in values.items()
    )
    row = await fetch_one(
        f"UPDATE company t SET {sets}, updated_at = now() WHERE t.id = {params.add(company_id)}"
        f" RETURNING {COLUMNS}", params.values, conn,
    )
    assert row is not None
    return row
