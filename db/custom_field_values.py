"""Custom field values: validated against their definitions, and compiled into filters and
sort expressions over an object's ``custom_fields`` JSONB (alias ``t``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient

from core.errors import AppError, ErrorCode, FieldError, InputError
from db import custom_field as custom_fields
from db import validation
from db.custom_field import FieldType, ObjectType
from db.pagination import Sort
from db.sql import Params, fetch, fetch_one

MAX_TEXT = 1000
NUMERIC = r"^-?[0-9]+(\.[0-9]+)?$"
_NUMERIC = re.compile(NUMERIC)
Definition = Mapping[str, Any]


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-blank string")
    if len(value) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    return value.strip()


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValueError("must be a number")
    if abs(value) >= 1e15:
        raise ValueError("must be below 10^15")
    return value


def _money(value: Any) -> str:
    """A decimal string with cents (``"12.50"``): JSON numbers would round money."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("must be an amount such as \"12.50\"")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be an amount such as \"12.50\"") from None
    if not amount.is_finite() or abs(amount) >= validation.MAX_AMOUNT:
        raise ValueError("must be an amount below 10^14")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("must have at most two decimal places")
    return f"{amount.quantize(Decimal('0.01')):f}"


def _date(value: Any) -> str:
    try:
        return date.fromisoformat(value).isoformat() if isinstance(value, str) else _bad_date()
    except ValueError:
        return _bad_date()


def _bad_date() -> str:
    raise ValueError("must be a date such as 2024-05-31")


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _url(value: Any) -> str:
    text = _text(value)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in text:
        raise ValueError("must be an http or https URL")
    return text


def _string(clean: Callable[[str], str]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return clean(value)

    return parse


def _select(options: Sequence[str]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return str(value)

    return parse


def _multi(options: Sequence[str]) -> Callable[[Any], list[str]]:
    one = _select(options)

    def parse(value: Any) -> list[str]:
        if not isinstance(value, list):
            raise ValueError("must be a list of options")
        return list(dict.fromkeys(one(v) for v in value))

    return parse


def parser(d: Definition) -> Callable[[Any], Any]:
    """How a value of definition ``d`` is checked and normalised (ValueError says why not)."""
    kind = FieldType(d["field_type"])
    if kind is FieldType.SINGLE_SELECT:
        return _select(d["options"])
    if kind is FieldType.MULTI_SELECT:
        return _multi(d["options"])
    return {
        FieldType.TEXT: _text, FieldType.NUMBER: _number, FieldType.MONEY: _money,
        FieldType.DATE: _date, FieldType.BOOLEAN: _boolean, FieldType.URL: _url,
        FieldType.EMAIL: _string(validation.email), FieldType.PHONE: _string(validation.phone),
    }[kind]


def clean(
    c: validation.Cleaner, path: str, values: dict[str, Any],
    definitions: Mapping[str, Definition],
) -> dict[str, Any]:
    """``values`` with each defined key's value normalised, and every required one present;
    errors are recorded at ``path.<key>``. Undefined keys pass as free-form JSON."""
    out = dict(values)
    for key, d in definitions.items():
        value = values.get(key)
        if value is None or value == [] or value == "":
            out.pop(key, None)
            if d["required"]:
                c.fail(f"{path}.{key}", f"{d['label']} is required")
            continue
        out[key] = c.apply(f"{path}.{key}", value, parser(d))
    return out


async def taken(
    *, table: str, org_id: int, key: str, value: Any, except_id: int | None,
    using: BaseDBAsyncClient | None = None,
) -> bool:
    """Whether another live object of the organization holds ``value`` under ``key``."""
    row = await fetch_one(
        f"SELECT 1 FROM {table} WHERE organization_id = $1 AND deleted_at IS NULL"
        " AND custom_fields @> $2::jsonb AND id IS DISTINCT FROM $3 LIMIT 1",
        [org_id, orjson.dumps({key: value}).decode(), except_id], using,
    )
    return row is not None


def taken_message(d: Definition) -> str:
    """What a write is told when another record holds its value of the unique field ``d``."""
    return f"another record has this {d['label']}"


def lock_name(org_id: int, object_type: ObjectType, key: str, value: Any) -> str:
    """The advisory lock every writer of ``value`` under the unique field ``key`` holds."""
    return f"unique custom field:{org_id}:{object_type.value}:{key}:{orjson.dumps(value).decode()}"


async def claim_unique(
    conn: BaseDBAsyncClient, *, object_type: ObjectType, org_id: int,
    values: Mapping[str, Any] | None, object_id: int | None,
) -> None:
    """Inside the write's transaction, just before it: hold each unique value being written
    (a transaction-level advisory lock on the value) and check again that no other live
    object has it. ``clean_fields`` checked before the transaction; two concurrent writers of
    one value would both have passed. Now the second waits for the first to commit, then sees
    its row: InputError (DUPLICATE at ``input.customFields.<key>``), nothing written."""
    if not values:
        return
    definitions = await custom_fields.by_key(org_id=org_id, object_type=object_type)
    errors = []
    for key, d in sorted(definitions.items()):  # one order: two writers never wait in a circle
        value = values.get(key)
        if not d["is_unique"] or value is None:
            continue
        await fetch("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                    [lock_name(org_id, object_type, key, value)], conn)
        if await taken(table=object_type.value.lower(), org_id=org_id, key=key, value=value,
                       except_id=object_id, using=conn):
            errors.append(FieldError(ErrorCode.DUPLICATE, ("input", "customFields", key),
                                     taken_message(d)))
    if errors:
        raise InputError(errors)


@dataclass(frozen=True)
class Condition:
    """A condition on one defined field; values already normalised by the field's type."""

    key: str
    field_type: FieldType
    equals: Sequence[Any] = ()  # any of these (a multi-select: holds each of them)
    gte: Any = None
    lte: Any = None
    is_set: bool | None = None


def _value(key: str) -> str:
    # keys match custom_field.KEY: safe to write as a literal
    return f"t.custom_fields -> '{key}'"


def numeric(key: str) -> str:
    """The field as a number, or NULL when it holds none (free-form data may not)."""
    v = _value(key)
    return (f"CASE WHEN jsonb_typeof({v}) = 'number' THEN ({v} #>> '{{}}')::numeric"
            f" WHEN jsonb_typeof({v}) = 'string' AND ({v} #>> '{{}}') ~ '{NUMERIC}'"
            f" THEN ({v} #>> '{{}}')::numeric END")


def conditions(cond: Condition, p: Params) -> list[str]:
    """SQL conditions (all must hold; never NULL) for one field condition."""
    out = []
    if cond.equals:
        tests = [f"t.custom_fields @> {p.add(orjson.dumps({cond.key: v}).decode())}::jsonb"
                 for v in cond.equals]
        out.append("(" + " OR ".join(tests) + ")")
    ordered = cond.field_type in (FieldType.NUMBER, FieldType.MONEY)
    expr = numeric(cond.key) if ordered else f"({_value(cond.key)} #>> '{{}}')"
    for op, bound in ((">=", cond.gte), ("<=", cond.lte)):
        if bound is not None:
            out.append(f"coalesce({expr} {op} {p.add(bound)}, false)")
    if cond.is_set is not None:
        test = f"coalesce(jsonb_typeof({_value(cond.key)}) NOT IN ('null'), false)"
        out.append(test if cond.is_set else f"NOT {test}")
    return out


def sort(d: Definition, descending: bool) -> Sort:
    """An ordering by the field (objects without a value count as the smallest)."""
    key = d["key"]
    name = f"CUSTOM_{key}_{'DESC' if descending else 'ASC'}"
    if d["field_type"] in (FieldType.NUMBER, FieldType.MONEY):
        return Sort(name, f"coalesce(({numeric(key)})::float8, -1e300)", "number", descending)
    return Sort(name, f"coalesce(lower({_value(key)} #>> '{{}}'), '')", "text", descending)


async def clean_fields(
    c: validation.Cleaner, *, org_id: int, object_type: ObjectType, given: dict[str, Any] | None,
    creating: bool, object_id: int | None = None,
) -> dict[str, Any] | None:
    """The object's ``customFields`` checked against the organization's definitions: typed,
    required and unique values (errors at ``customFields.<key>``). ``given`` None: not being
    written (on creation every required field must still be given)."""
    if given is None and not creating:
        return None
    definitions = await custom_fields.by_key(org_id=org_id, object_type=object_type)
    if not definitions:
        return given
    out = clean(c, "customFields", given or {}, definitions)
    for key, d in definitions.items():
        if d["is_unique"] and out.get(key) is not None and await taken(
                table=object_type.value.lower(), org_id=org_id, key=key, value=out[key],
                except_id=object_id):
            c.fail(f"customFields.{key}", taken_message(d),
                   ErrorCode.DUPLICATE)
    return out if given is not None or out else given


def _condition(raw: Mapping[str, Any], d: Definition | None, path: str) -> Condition:
    """A raw filter condition checked against its definition (AppError at ``path``)."""
    if d is None:
        raise AppError(ErrorCode.BAD_USER_INPUT, f"no custom field {raw['key']!r}",
                       [*path.split("."), "key"])
    kind = FieldType(d["field_type"])
    parse = parser(d)
    equals: list[Any] = []
    for i, value in enumerate(raw.get("equals") or ()):
        try:
            equals.append([_select(d["options"])(value)] if kind is FieldType.MULTI_SELECT
                          else parse(value))
        except ValueError as exc:
            raise AppError(ErrorCode.BAD_USER_INPUT, f"{d['key']} {exc}",
                           [*path.split("."), "equals", str(i)]) from None
    bounds: dict[str, Any] = {}
    for name in ("gte", "lte"):
        if raw.get(name) is None:
            continue
        if kind not in (FieldType.NUMBER, FieldType.MONEY, FieldType.DATE):
            raise AppError(ErrorCode.BAD_USER_INPUT, f"{name} applies to number, money and"
                           " date fields", [*path.split("."), name])
        try:
            value = parse(raw[name])
        except ValueError as exc:
            raise AppError(ErrorCode.BAD_USER_INPUT, f"{d['key']} {exc}",
                           [*path.split("."), name]) from None
        bounds[name] = Decimal(str(value)) if kind is not FieldType.DATE else value
    return Condition(key=d["key"], field_type=kind, equals=equals, is_set=raw.get("is_set"),
                     **bounds)


async def resolve(
    *, org_id: int, object_type: ObjectType, raw: Sequence[Mapping[str, Any]], path: str
) -> list[Condition]:
    """Raw ``customFields`` filter conditions as typed Conditions."""
    if not raw:
        return []
    definitions = await custom_fields.by_key(org_id=org_id, object_type=object_type)
    return [_condition(r, definitions.get(r["key"]), f"{path}.{i}") for i, r in enumerate(raw)]


async def order(*, org_id: int, object_type: ObjectType, key: str, descending: bool) -> Sort:
    """The ordering by a field: typed when defined; a key nobody defined orders its free-form
    values as text (as ``orderByScore`` orders by a prediction nobody has a score for: no
    error that would race the operation's other fields). A key that cannot be one is an
    AppError at ``orderByCustomField.key``."""
    if not custom_fields.KEY.match(key):
        raise AppError(ErrorCode.BAD_USER_INPUT, f"{key!r} is not a custom field key",
                       ["orderByCustomField", "key"])
    d = (await custom_fields.by_key(org_id=org_id, object_type=object_type)).get(key)
    return sort(d if d is not None else {"key": key, "field_type": FieldType.TEXT}, descending)
