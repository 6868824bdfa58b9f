"""Generated builders: one Python function per selection that writes each object's dict.

A selection's leaves that are attributes of the object (most fields) are read, masked and
serialized inline in one dict display per object, the way graphql-jit compiles a query for
JavaScript; the other fields (batched resolvers, nested objects, lists) arrive as precomputed
columns and are placed by position. Generated once per selection and PII mode, then cached.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from math import isfinite
from typing import Any

from compiled.columns import ROWS
from compiled.plan import MAX_INT, ORJSON_ZONES, Field, Selection, Serialize, identity
from schema.node import to_global_id

# objects, columns, the personal custom-field keys masks need (None: nothing is masked)
Builder = Callable[[list[Any], list[list[Any]], frozenset[str] | None], list[dict[str, Any]]]


class NullInNonNull(Exception):
    """A non-null field resolved to null: the generic executor reports that error."""


def inline(field: Field) -> bool:
    """Whether ``field`` is written inline (a constant, or a leaf attribute of the object)."""
    return field.typename is not None or (
        field.attr is not None and field.serialize is not None and not field.is_list
    )


def build(selection: Selection, masked: bool) -> Builder:
    """The builder of ``selection``, generated on first use for each PII mode."""
    cache = selection.builders
    if masked not in cache:
        cache[masked] = _generate(selection, masked)
    built: Builder = cache[masked]
    return built


def _null(key: str) -> Any:
    raise NullInNonNull(key)


def _checked(serialize: Serialize, key: str) -> Serialize:
    def run(value: Any) -> Any:
        out = serialize(value)
        if out is None:
            raise NullInNonNull(key)  # graphql-core refuses a leaf serialized to null
        return out

    return run


def _generate(selection: Selection, masked: bool) -> Builder:
    names: dict[str, Any] = {
        "_null": _null, "_str": str, "_bool": bool, "_int": int, "_float": float,
        "_datetime": datetime, "_isfinite": isfinite, "_zones": ORJSON_ZONES,
        "_gid": to_global_id,
    }
    entries: list[str] = []
    columns: list[str] = []
    for n, field in enumerate(selection.fields):
        key = repr(field.key)
        if field.typename is not None:
            entries.append(f"{key}: {field.typename!r}")
        elif inline(field):
            source = _row_value(selection, field, n, names) if selection.rows else f"o.{field.attr}"
            entries.append(f"{key}: {_leaf(field, n, masked, names, source)}")
        else:
            columns.append(f"c{n}")
            entries.append(f"{key}: c{n}[i]")
    body = "{" + ", ".join(entries) + "}"
    if columns:
        unpack = f"    {', '.join(columns)}, = columns\n"
        loop = f"[{body} for i, o in enumerate(objects)]"
    else:
        unpack, loop = "", f"[{body} for o in objects]"
    source = f"def build(objects, columns, personal):\n{unpack}    return {loop}\n"
    exec(compile(source, f"<compiled {selection.type_name}>", "exec"), names)  # noqa: S102
    built: Builder = names["build"]
    return built


def _row_value(selection: Selection, field: Field, n: int, names: dict[str, Any]) -> str:
    """The expression reading ``field`` from a row as the type's ``from_row`` fills it."""
    column, global_type = ROWS[selection.type_name][field.name]
    if global_type is None:
        return f"o[{column!r}]"
    names[f"G{n}"] = global_type
    return f"(_gid(G{n}, g) if (g := o[{column!r}]) else None)"


def _leaf(field: Field, n: int, masked: bool, names: dict[str, Any], value: str) -> str:
    assert field.serialize is not None
    if field.mask is not None and masked:
        names[f"M{n}"] = field.mask
        value = f"M{n}({value}, personal)"
    serialize = field.serialize
    names[f"S{n}"] = _checked(serialize, field.key)
    if serialize is identity:
        done = "x"
    elif field.kind == "enum":
        names[f"E{n}"] = field.enum_names
        done = f"(E{n}.get(x) or S{n}(x))"
    else:
        fast = {
            "str": "x.__class__ is _str",
            "bool": "x.__class__ is _bool",
            "int": f"x.__class__ is _int and {-MAX_INT} <= x < {MAX_INT}",
            "float": "x.__class__ is _float and _isfinite(x)",
            "datetime": "x.__class__ is _datetime and x.tzinfo in _zones",
        }.get(field.kind)
        done = f"(x if {fast} else S{n}(x))" if fast else f"S{n}(x)"
    missing = f"_null({field.key!r})" if field.non_null else "None"
    return f"({missing} if (x := {value}) is None else {done})"
