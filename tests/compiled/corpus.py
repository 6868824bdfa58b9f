"""A generated corpus of query documents over the live schema, for the differential tests.

Deterministic (a seeded ``random.Random``): random selections with aliases, repeated fields,
inline and named fragments, ``__typename``, variables, nulls, deep nesting, page sizes in and
out of range, malformed cursors and ids of the wrong type, so both paths also meet errors.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
)

ROOTS = ("customers", "customer", "interactions", "interaction", "orders", "order", "viewer")
# leaves that need data the world cannot give every principal the same way are still asked
SKIP_FIELDS = frozenset({"counter"})


@dataclass
class Ids:
    """Global ids of the world's objects, by type name, to put in arguments."""

    by_type: dict[str, list[str]] = field(default_factory=dict)

    def pick(self, rng: random.Random, type_name: str) -> str:
        choices = self.by_type.get(type_name) or ["Q3VzdG9tZXI6MQ"]
        roll = rng.random()
        if roll < 0.08:
            return "not-an-id"
        if roll < 0.16:  # an id of another type
            other = [i for t, ids in self.by_type.items() if t != type_name for i in ids]
            return rng.choice(other or choices)
        return rng.choice(choices)


@dataclass
class Document:
    query: str
    variables: dict[str, Any]


class Generator:
    """Random documents over ``schema`` rooted at the compiled path's usual roots."""

    def __init__(self, schema: GraphQLSchema, ids: Ids, seed: int,
                 skip: frozenset[str] = SKIP_FIELDS) -> None:
        self.skip = skip
        self.schema = schema
        self.ids = ids
        self.rng = random.Random(seed)
        self.fragments: list[str] = []
        self.variables: dict[str, Any] = {}
        self.variable_defs: list[str] = []

    def document(self) -> Document:
        self.fragments, self.variables, self.variable_defs = [], {}, []
        query = self.schema.query_type
        assert query is not None
        roots = self.rng.sample(ROOTS, k=self.rng.choice((1, 1, 1, 2)))
        body = " ".join(self.field(query, name, depth=0) for name in roots)
        head = f"query Q({', '.join(self.variable_defs)})" if self.variable_defs else "query Q"
        text = " ".join([f"{head} {{ {body} }}", *self.fragments])
        return Document(text, dict(self.variables))

    def field(self, owner: GraphQLObjectType, name: str, depth: int) -> str:
        definition = owner.fields[name]
        alias = ""
        if self.rng.random() < 0.12:
            alias = f"a{self.rng.randrange(1000)}: "
        args = self.arguments(definition, name)
        named = get_named_type(definition.type)
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            return f"{alias}{name}{args}"
        assert isinstance(named, GraphQLObjectType)
        return f"{alias}{name}{args} {{ {self.selection(named, depth + 1)} }}"

    def selection(self, owner: GraphQLObjectType, depth: int) -> str:
        names = [n for n in owner.fields if n not in self.skip]
        leaves = [n for n in names if _is_leaf(owner.fields[n])]
        objects = [n for n in names if not _is_leaf(owner.fields[n])]
        if depth >= 4:
            objects = []
        count = min(len(leaves), self.rng.randint(1, 4))
        picked = self.rng.sample(leaves, k=count) if leaves else []
        if objects and (not picked or self.rng.random() < 0.7):
            picked += self.rng.sample(objects, k=min(len(objects), self.rng.randint(1, 2)))
        parts = [self.field(owner, n, depth) for n in picked]
        if self.rng.random() < 0.15:
            parts.append("__typename")
        if parts and self.rng.random() < 0.1:
            parts.append(parts[0])  # the same field twice: merged into one key
        if self.rng.random() < 0.12:
            inner = " ".join(parts)
            return f"... on {owner.name} {{ {inner} }}"
        if self.rng.random() < 0.08:
            name = f"F{len(self.fragments)}"
            self.fragments.append(f"fragment {name} on {owner.name} {{ {' '.join(parts)} }}")
            return f"...{name}"
        return " ".join(parts)

    def arguments(self, definition: GraphQLField, field_name: str) -> str:
        given: list[str] = []
        for name, argument in definition.args.items():
            required = isinstance(argument.type, GraphQLNonNull)
            if not required and self.rng.random() < 0.6:
                continue
            value = self.value(name, argument.type, field_name)
            if value is not None:
                given.append(f"{name}: {value}")
        return f"({', '.join(given)})" if given else ""

    def value(self, name: str, type_: Any, field_name: str) -> str | None:
        rng = self.rng
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        if name in ("first", "last"):
            size = rng.choice((0, 1, 2, 3, 3, 5, 101, -1))
            if rng.random() < 0.25:
                var = f"${name}{len(self.variable_defs)}"
                self.variable_defs.append(f"{var}: Int")
                self.variables[var[1:]] = size
                return var
            return str(size)
        if name in ("after", "before"):
            return '"bm90LWEtY3Vyc29y"' if rng.random() < 0.5 else "null"
        if name == "id":
            type_name = {"customer": "Customer", "interaction": "Interaction",
                         "order": "Order"}.get(field_name, "Customer")
            value = self.ids.pick(rng, type_name)
            if rng.random() < 0.3:
                var = f"$id{len(self.variable_defs)}"
                self.variable_defs.append(f"{var}: ID!")
                self.variables[var[1:]] = value
                return var
            return f'"{value}"'
        if isinstance(type_, GraphQLEnumType):
            return rng.choice(list(type_.values))
        if isinstance(type_, GraphQLInputObjectType):
            return self.input_object(type_)
        if isinstance(type_, GraphQLList):
            inner = self.value(name, type_.of_type, field_name)
            return f"[{inner}]" if inner is not None else "[]"
        if isinstance(type_, GraphQLScalarType):
            return {"Boolean": rng.choice(("true", "false")), "Int": str(rng.randint(0, 3)),
                    "Float": "0.5", "String": '"a"',
                    "DateTime": '"2026-01-01T00:00:00+00:00"'}.get(type_.name)
        return None

    def input_object(self, type_: GraphQLInputObjectType) -> str:
        fields = []
        for name, f in type_.fields.items():
            named = get_named_type(f.type)
            if isinstance(f.type, GraphQLNonNull) or self.rng.random() < 0.25:
                if isinstance(named, GraphQLInputObjectType):
                    continue  # nested filters: one level is enough
                if name in ("search", "customerId", "ownerIds"):
                    continue
                value = self.value(name, f.type, type_.name)
                if value is not None:
                    fields.append(f"{name}: {value}")
        return "{" + ", ".join(fields) + "}"


def _is_leaf(definition: GraphQLField) -> bool:
    return isinstance(get_named_type(definition.type), GraphQLScalarType | GraphQLEnumType)
