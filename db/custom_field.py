"""Custom field definitions: typed fields an ADMIN adds to customers, companies and deals.

Values live in each object's ``custom_fields`` JSONB under the definition's key (a GIN
``jsonb_path_ops`` index serves equality and containment filters); keys without a definition
stay free-form JSON as before. A personal definition of a customer field joins the
organization's ``personal_custom_fields``, which the PII rules mask; personal deal and company
fields are masked on deals and companies by their definitions (see ``PERSONAL_DEAL_KEYS`` and
``PERSONAL_COMPANY_KEYS``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import ErrorCode, FieldError, InputError
from db import validation
from db.sql import fetch, fetch_one, violated_constraint

MAX_OPTIONS = 100
MAX_DEFINITIONS = 200
KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
COLUMNS = (
    "id, organization_id, object_type, key, label, field_type, options, currency, required,"
    " is_unique, personal, position, created_at, updated_at"
)


class ObjectType(StrEnum):
    CUSTOMER = "CUSTOMER"
    COMPANY = "COMPANY"
    DEAL = "DEAL"


class FieldType(StrEnum):
    TEXT = "TEXT"
    NUMBER = "NUMBER"
    MONEY = "MONEY"
    DATE = "DATE"
    BOOLEAN = "BOOLEAN"
    SINGLE_SELECT = "SINGLE_SELECT"
    MULTI_SELECT = "MULTI_SELECT"
    URL = "URL"
    EMAIL = "EMAIL"
    PHONE = "PHONE"


SELECTS = (FieldType.SINGLE_SELECT, FieldType.MULTI_SELECT)
# the personal deal field keys of organization ``o`` (read with the viewer, for the PII masks)
PERSONAL_DEAL_KEYS = (
    "ARRAY(SELECT d.key FROM custom_field_definition d WHERE d.organization_id = o.id"
    " AND d.object_type = 'DEAL' AND d.personal ORDER BY d.key)"
)
# the personal company field keys of organization ``o`` (likewise)
PERSONAL_COMPANY_KEYS = PERSONAL_DEAL_KEYS.replace("'DEAL'", "'COMPANY'")


async def list_(
    *, org_id: int, object_type: ObjectType, using: BaseDBAsyncClient | None = None
) -> list[dict[str, Any]]:
    """The organization's definitions for ``object_type``, in their order."""
    return await fetch(
        f"SELECT {COLUMNS} FROM custom_field_definition WHERE organization_id = $1"
        " AND object_type = $2 ORDER BY position, id", [org_id, object_type.value], using,
    )


async def by_key(*, org_id: int, object_type: ObjectType) -> dict[str, dict[str, Any]]:
    """The definitions keyed by their key."""
    return {d["key"]: d for d in await list_(org_id=org_id, object_type=object_type)}


def _clean(data: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    c = validation.Cleaner()
    out: dict[str, Any] = {}
    if before is None:
        key = (data.get("key") or "").strip()
        if not KEY.match(key):
            c.fail("key", "must be 1 to 63 lower-case letters, digits or _, starting with a letter")
        out["key"] = key
        out["field_type"] = data["field_type"]
    if before is None or "label" in data:
        out["label"] = c.text("label", data.get("label"), 200, required=True)
    field_type = out.get("field_type") or (before or {})["field_type"]
    if "options" in data or (before is None and field_type in SELECTS):
        out["options"] = _options(c, field_type, data.get("options"))
    if "currency" in data or before is None:
        given = data.get("currency")
        if field_type == FieldType.MONEY and given:
            out["currency"] = c.apply("currency", given, validation.currency)
        elif given:
            c.fail("currency", "only a MONEY field has a currency")
        else:
            out["currency"] = None
    for flag in ("required", "is_unique", "personal", "position"):
        if flag in data and data[flag] is not None:
            out[flag] = data[flag]
    c.raise_if_any()
    return out


def _options(c: validation.Cleaner, field_type: str, given: Sequence[str] | None) -> list[str]:
    if field_type not in SELECTS:
        if given:
            c.fail("options", "only select fields have options")
        return []
    cleaned = [c.text(f"options.{i}", o, 100, required=True) for i, o in enumerate(given or ())]
    options = [o for o in cleaned if o]
    if not given:
        c.fail("options", "a select field needs at least one option")
    elif len(options) > MAX_OPTIONS:
        c.fail("options", f"must have at most {MAX_OPTIONS} options")
    elif len(set(options)) != len(options):
        c.fail("options", "must not repeat an option")
    return options


def _duplicate(exc: IntegrityError) -> InputError:
    if violated_constraint(exc) != "custom_field_definition_key_uniq":
        raise exc
    return InputError([FieldError(ErrorCode.DUPLICATE, ("input", "key"),
                                  "a field with this key already exists")])


async def create(*, org_id: int, object_type: ObjectType, data: dict[str, Any]) -> dict[str, Any]:
    """Define a field; invalid input raises InputError and writes nothing."""
    values = _clean(data, None)
    try:
        async with in_transaction() as conn:
            count = await fetch_one(
                "SELECT count(*) AS n FROM custom_field_definition WHERE organization_id = $1",
                [org_id], conn)
            if count and count["n"] >= MAX_DEFINITIONS:
                raise InputError([FieldError(ErrorCode.BAD_USER_INPUT, ("input",),
                                             f"at most {MAX_DEFINITIONS} custom fields")])
            names = ["organization_id", "object_type", *values]
            row = await fetch_one(
                f"INSERT INTO custom_field_definition ({', '.join(names)})"
                f" VALUES ({', '.join(f'${i}' for i in range(1, len(names) + 1))})"
                f" RETURNING {COLUMNS}", [org_id, object_type.value, *values.values()], conn)
            assert row is not None
            await _sync_personal(org_id, conn)
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    return row


async def update(*, org_id: int, field_id: int, data: dict[str, Any]) -> dict[str, Any] | None:
    """Change a definition's label, options, currency or flags; None if there is none."""
    async with in_transaction() as conn:
        before = await fetch_one(
            f"SELECT {COLUMNS} FROM custom_field_definition WHERE id = $1"
            " AND organization_id = $2 FOR UPDATE", [field_id, org_id], conn)
        if before is None:
            return None
        values = _clean(data, before)
        if not values:
            return before
        sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=3))
        row = await fetch_one(
            f"UPDATE custom_field_definition SET {sets}, updated_at = now()"
            f" WHERE id = $1 AND organization_id = $2 RETURNING {COLUMNS}",
            [field_id, org_id, *values.values()], conn)
        await _sync_personal(org_id, conn)
    return row


async def delete(*, org_id: int, field_id: int) -> dict[str, Any] | None:
    """Remove a definition (the values stay, as free-form JSON); None if there is none."""
    async with in_transaction() as conn:
        row = await fetch_one(
            f"DELETE FROM custom_field_definition WHERE id = $1 AND organization_id = $2"
            f" RETURNING {COLUMNS}", [field_id, org_id], conn)
        if row is not None:
            await _sync_personal(org_id, conn)
    return row


async def _sync_personal(org_id: int, conn: BaseDBAsyncClient) -> None:
    """The organization's masked keys: those of personal customer fields, plus keys set by
    hand in the privacy settings that no definition claims as not personal."""
    await fetch(
        "UPDATE organization o SET personal_custom_fields = coalesce((SELECT array_agg(k"
        " ORDER BY k) FROM (SELECT unnest(coalesce(o.personal_custom_fields, '{}')) AS k"
        " EXCEPT SELECT d.key FROM custom_field_definition d WHERE d.organization_id = o.id"
        " AND d.object_type = 'CUSTOMER' AND NOT d.personal"
        " UNION SELECT d.key FROM custom_field_definition d WHERE d.organization_id = o.id"
        " AND d.object_type = 'CUSTOMER' AND d.personal) keys), '{}') WHERE o.id = $1",
        [org_id], conn)
