"""Operations generated from the schema itself (graphql-core's type objects), with hostile values.

Every query and mutation field of the schema is called in turn (a shuffled round), with its
required arguments and a random part of its optional ones; values come from ``hostile.py``,
passed as variables or written inline as literals; input objects are built field by field,
recursive filters (``and``/``or``/``not``) nest up to 40 deep; selections go a random depth
(sometimes past the depth limit) into objects, interfaces and nested connections, whose own
arguments (page sizes, cursors, filters) are hostile too. Deterministic for a seed.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    get_named_type,
)

from tests.robustness import hostile

# which object an ID argument names, by argument name or (for plain ``id``) by root field
ID_HINTS = {
    "customerId": "Customer", "primaryId": "Customer", "duplicateIds": "Customer",
    "fromId": "Customer", "ownerId": "User", "ownerIds": "User", "actorId": "User",
    "targetId": "Customer", "templateId": "EmailTemplate", "webhookId": "Webhook",
}
ROOT_NOUNS = ("Customer", "Order", "Interaction", "Product", "Template", "Campaign", "Webhook",
              "ApiKey", "TrainingRun")
TEXT_KINDS = {"email": hostile.EMAILS, "customerEmail": hostile.EMAILS,
              "phone": hostile.PHONES, "currency": hostile.CODES, "country": hostile.CODES,
              "countries": hostile.CODES, "url": hostile.URLS, "scopes": hostile.SCOPES}
SKIPPED_ROOTS = frozenset({"Subscription"})


@dataclass(frozen=True)
class Operation:
    kind: str  # "query" or "mutation"
    fields: tuple[str, ...]  # the root fields called
    document: str
    variables: dict[str, Any]


class Generator:
    """Random operations over ``schema`` for a seed; ``ids`` supplies the world's ids."""

    def __init__(self, schema: GraphQLSchema, ids: hostile.Ids, seed: int) -> None:
        self.schema = schema
        self.ids = ids
        self.rng = random.Random(seed)
        self.roots: list[tuple[GraphQLObjectType, str]] = [
            (root, name)
            for root in (schema.query_type, schema.mutation_type) if root is not None
            for name in root.fields
        ]
        self._round: list[tuple[GraphQLObjectType, str]] = []

    def operations(self, count: int) -> list[Operation]:
        return [self.operation() for _ in range(count)]

    def operation(self) -> Operation:
        if not self._round:
            self._round = list(self.roots)
            self.rng.shuffle(self._round)
        root, name = self._round.pop()
        build = _Build(self.schema, self.rng, self.ids,
                       max_depth=self.rng.choice((2, 3, 3, 4, 5, 7, 13)))
        names = [name]
        if root is self.schema.query_type and self.rng.random() < 0.2:
            names.append(self.rng.choice(list(root.fields)))
        kind = "mutation" if root is self.schema.mutation_type else "query"
        body = " ".join(
            build.field(root.fields[n], n, alias=f"r{i}" if len(names) > 1 else "", root=n,
                        payload_errors=kind == "mutation")
            for i, n in enumerate(names)
        )
        head = f"{kind} Fuzz({', '.join(build.declared)})" if build.declared else f"{kind} Fuzz"
        return Operation(kind, tuple(names), f"{head} {{ {body} }}", build.variables)


class _Build:
    """The state of one document: its variables and the depth it may reach."""

    def __init__(self, schema: GraphQLSchema, rng: random.Random, ids: hostile.Ids,
                 max_depth: int) -> None:
        self.schema = schema
        self.rng = rng
        self.ids = ids
        self.max_depth = max_depth
        self.declared: list[str] = []
        self.variables: dict[str, Any] = {}
        self.filter_depth = rng.choice((1, 2, 2, 3, 5, 40))

    def field(self, definition: GraphQLField, name: str, alias: str = "", depth: int = 0,
              root: str = "", payload_errors: bool = False) -> str:
        args = self.arguments(definition.args, root or name)
        head = f"{alias}: {name}{args}" if alias else f"{name}{args}"
        named = get_named_type(definition.type)
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            return head
        selected = self.selection(named, depth + 1)
        if payload_errors and isinstance(named, GraphQLObjectType) and "errors" in named.fields:
            # a mutation's own errors tell whether it failed (and so must have written nothing)
            selected += " payloadErrors: errors { code field message }"
        return f"{head} {{ {selected} }}"

    def selection(self, owner: Any, depth: int) -> str:
        if isinstance(owner, GraphQLInterfaceType | GraphQLUnionType):
            return self.abstract(owner, depth)
        assert isinstance(owner, GraphQLObjectType)
        names = list(owner.fields)
        if depth >= self.max_depth:
            names = [n for n in names if _is_leaf(owner.fields[n])]
        if not names:
            return "__typename"
        picked = self.rng.sample(names, k=min(len(names), self.rng.choice((1, 2, 3, 5))))
        parts = []
        for n in picked:
            alias = f"x{self.rng.randrange(10**6)}" if self.rng.random() < 0.1 else ""
            parts.append(self.field(owner.fields[n], n, alias, depth))
        if self.rng.random() < 0.2:
            parts.append("__typename")
        return " ".join(parts)

    def abstract(self, owner: GraphQLInterfaceType | GraphQLUnionType, depth: int) -> str:
        if isinstance(owner, GraphQLUnionType):
            schema_types = list(owner.types)
        else:
            schema_types = list(self.schema.get_implementations(owner).objects)
        parts = ["__typename"]
        if isinstance(owner, GraphQLInterfaceType) and self.rng.random() < 0.5:
            parts.append(self.selection_of_interface(owner, depth))
        for possible in self.rng.sample(schema_types, k=min(len(schema_types), 2)):
            parts.append(f"... on {possible.name} {{ {self.selection(possible, depth)} }}")
        return " ".join(p for p in parts if p)

    def selection_of_interface(self, owner: GraphQLInterfaceType, depth: int) -> str:
        leaves = [n for n, f in owner.fields.items() if _is_leaf(f) and not f.args]
        return " ".join(self.rng.sample(leaves, k=min(len(leaves), 2)))

    def arguments(self, args: dict[str, GraphQLArgument], field_name: str) -> str:
        given = []
        for name, argument in args.items():
            if not isinstance(argument.type, GraphQLNonNull) and self.rng.random() < 0.5:
                continue
            value = self.value(argument.type, name, field_name, 0)
            if self.rng.random() < 0.65 or not _literal_safe(argument.type):
                var = f"v{len(self.declared)}"
                self.declared.append(f"${var}: {argument.type}")
                self.variables[var] = value
                given.append(f"{name}: ${var}")
            else:
                given.append(f"{name}: {literal(argument.type, value)}")
        return f"({', '.join(given)})" if given else ""

    def value(self, type_: GraphQLInputType, name: str, field_name: str, depth: int) -> Any:
        rng = self.rng
        if isinstance(type_, GraphQLNonNull):
            return None if rng.random() < 0.02 else self.value(type_.of_type, name,
                                                                field_name, depth)
        if rng.random() < 0.08:
            return None
        if isinstance(type_, GraphQLList):
            if name == "rows" and rng.random() < 0.05:  # one row past the limit, all alike
                row_type = get_named_type(type_)
                assert isinstance(row_type, GraphQLInputObjectType)
                row = {n: "x" for n, f in row_type.fields.items()
                       if isinstance(f.type, GraphQLNonNull)}
                return [row] * 1001
            size = rng.choice((0, 1, 1, 1, 2, 3, 5))
            return [self.value(type_.of_type, name, field_name, depth + 1) for _ in range(size)]
        if isinstance(type_, GraphQLEnumType):
            return "NOT_A_VALUE" if rng.random() < 0.03 else rng.choice(list(type_.values))
        if isinstance(type_, GraphQLInputObjectType):
            return self.input_object(type_, field_name, depth)
        assert isinstance(type_, GraphQLScalarType)
        return self.scalar(type_.name, name, field_name)

    def input_object(self, type_: GraphQLInputObjectType, field_name: str, depth: int) -> Any:
        result: dict[str, Any] = {}
        for name, f in type_.fields.items():
            nested = isinstance(get_named_type(f.type), GraphQLInputObjectType)
            recursive = nested and get_named_type(f.type) is type_
            if recursive and depth >= self.filter_depth:
                continue
            if recursive and name != "not" and self.filter_depth >= 40:
                continue  # a deep chain only (and/or at every level would grow exponentially)
            if nested and depth > 3 and not recursive:
                continue
            required = isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
            # a deep document follows ``not`` every time: 40 filters inside each other
            deep = recursive and name == "not" and self.filter_depth >= 40
            if required or deep or self.rng.random() < (0.4 if not nested else 0.25):
                result[name] = self.value(f.type, name, field_name, depth + 1)
        if self.rng.random() < 0.02:
            result["noSuchField"] = 1
        return result

    def scalar(self, scalar: str, name: str, field_name: str) -> Any:
        rng = self.rng
        if rng.random() < 0.03:  # the wrong JSON type for the scalar
            return rng.choice(([], {}, True, "1", 1.5))
        if scalar == "ID":
            return self.ids.pick(rng, ID_HINTS.get(name) or _noun(field_name))
        if scalar == "String":
            kinds = TEXT_KINDS.get(name)
            if kinds and rng.random() < 0.7:
                return rng.choice(kinds)
            if name in ("after", "before", "token", "refreshToken") and rng.random() < 0.5:
                return rng.choice(("", "bm90LWEtY3Vyc29y", hostile.encode(b"\x00\xff"),
                                   hostile.encode(b"[1, 2]"), hostile.encode(b"{}"),
                                   "a" * 5000))
            return hostile.text(rng)
        if scalar == "Int":
            return rng.choice(hostile.INTS)
        if scalar == "Float":
            return rng.choice(hostile.FLOATS)
        if scalar == "Boolean":
            return rng.random() < 0.5
        if scalar == "Decimal":
            return rng.choice(hostile.DECIMALS)
        if scalar == "DateTime":
            return rng.choice(hostile.DATETIMES)
        if scalar == "Date":
            return rng.choice(hostile.DATES)
        if scalar == "JSON":
            return hostile.json_value(rng)
        return hostile.text(rng)


def literal(type_: GraphQLInputType, value: Any) -> str:
    """``value`` written as a GraphQL literal of ``type_``."""
    if value is None:
        return "null"
    if isinstance(type_, GraphQLNonNull):
        return literal(type_.of_type, value)
    if isinstance(type_, GraphQLList):
        items = value if isinstance(value, list) else [value]
        return "[" + ", ".join(literal(type_.of_type, v) for v in items) + "]"
    if isinstance(type_, GraphQLInputObjectType) and isinstance(value, dict):
        inner = [f"{k}: {literal(type_.fields[k].type, v)}" if k in type_.fields else f"{k}: 1"
                 for k, v in value.items()]
        return "{" + ", ".join(inner) + "}"
    if isinstance(type_, GraphQLEnumType) and isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, int | float):
        return repr(value) if value not in (float("inf"), float("-inf")) else "1e999"
    return json.dumps(value if isinstance(value, str) else str(value))


def _literal_safe(type_: GraphQLInputType) -> bool:
    """Whether values of ``type_`` can be written inline (JSON scalars cannot, in general)."""
    named = get_named_type(type_)
    if isinstance(named, GraphQLInputObjectType):
        return all(_literal_safe(f.type) for f in named.fields.values()
                   if get_named_type(f.type) is not named)
    return not (isinstance(named, GraphQLScalarType) and named.name == "JSON")


def _noun(field_name: str) -> str | None:
    lowered = field_name.lower()
    for noun in ROOT_NOUNS:
        if noun.lower() in lowered:
            return "EmailTemplate" if noun == "Template" else noun
    return None


def _is_leaf(definition: GraphQLField) -> bool:
    return isinstance(get_named_type(definition.type), GraphQLScalarType | GraphQLEnumType)
