"""Leaf variables coerced on the compiled path equal graphql-core's coercion, or defer to it."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import build_schema, get_variable_values, parse

from compiled.variables import coerce, leaves

SCHEMA = build_schema("""
enum Kind { PERSON COMPANY }
input Filter { name: String }
type Query { f(id: ID, s: String, i: Int, b: Boolean, x: Float, k: Kind, l: [Int],
             filter: Filter): Int }
""")


def _definitions(signature: str) -> Any:
    operation = parse(f"query{signature} {{ f }}").definitions[0]
    return operation.variable_definitions  # type: ignore[attr-defined]


@pytest.mark.parametrize("inputs", [
    {"id": "abc", "s": "x", "i": 3, "b": True, "x": 1.5, "k": "PERSON"},
    {"id": 7, "s": "x", "i": 3},  # an int ID becomes a string
    {"id": "a", "x": 2},  # an int Float becomes a float
    {"id": "a", "s": None, "i": None},
    {"id": "a"},
])
def test_valid_values_coerce_exactly_as_graphql_core(inputs: dict[str, Any]) -> None:
    definitions = _definitions(
        "($id: ID!, $s: String, $i: Int, $b: Boolean, $x: Float, $k: Kind)"
    )
    found = leaves(SCHEMA, definitions)
    assert found is not None
    fast = coerce(found, inputs)
    slow = get_variable_values(SCHEMA, definitions, inputs)
    assert fast is not None
    assert not isinstance(slow, list)
    assert fast.coerced == slow.coerced
    assert {k: type(v) for k, v in fast.coerced.items()} == {
        k: type(v) for k, v in slow.coerced.items()}
    assert _sources(fast.sources) == _sources(slow.sources)


def _sources(sources: dict[str, Any]) -> dict[str, Any]:
    return {name: (str(source.signature.type), source.value) for name, source in sources.items()}


@pytest.mark.parametrize("inputs", [
    {},  # a required variable missing
    {"id": None},
    {"id": "a", "i": "3"},
    {"id": "a", "i": 2**31},
    {"id": "a", "b": 1},
    {"id": "a", "k": "ROBOT"},
    {"id": True},
])
def test_invalid_values_are_left_to_graphql_core(inputs: dict[str, Any]) -> None:
    definitions = _definitions("($id: ID!, $i: Int, $b: Boolean, $k: Kind)")
    found = leaves(SCHEMA, definitions)
    assert found is not None
    assert coerce(found, inputs) is None
    assert isinstance(get_variable_values(SCHEMA, definitions, inputs), list)


@pytest.mark.parametrize("signature", [
    "($i: Int = 3)", "($l: [Int])", "($f: Filter)", "($u: Unknown)",
])
def test_defaults_lists_and_input_objects_are_not_leaves(signature: str) -> None:
    assert leaves(SCHEMA, _definitions(signature)) is None
