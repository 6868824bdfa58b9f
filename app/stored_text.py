"""Text PostgreSQL cannot store is refused before anything runs: a NUL character.

PostgreSQL rejects U+0000 in text (a driver error deep inside any statement that would carry
it), so a string argument or variable holding one is a client mistake: it gets a
``BAD_USER_INPUT`` error naming where the character is, and no resolver runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import DocumentNode, GraphQLError, StringValueNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

NUL = "\x00"


def nul_errors(document: DocumentNode, variables: Mapping[str, Any] | None) -> list[GraphQLError]:
    """One error per string literal or variable value (at any depth) holding a NUL."""
    errors: list[GraphQLError] = []
    for name, value in (variables or {}).items():
        for path in _nul_paths(value, [name]):
            where = ".".join(str(p) for p in path)
            errors.append(GraphQLError(
                f"variable ${where} contains a NUL character, which cannot be stored",
                extensions={"code": "BAD_USER_INPUT", "field": ["$" + str(path[0]), *path[1:]]},
            ))
    finder = _Literals()
    visit(document, finder)
    errors.extend(
        GraphQLError("a string contains a NUL character, which cannot be stored", node,
                     extensions={"code": "BAD_USER_INPUT"})
        for node in finder.found
    )
    return errors


def holds_nul(variables: Mapping[str, Any]) -> bool:
    """Whether any variable value, at any depth, holds a NUL character."""
    return any(True for name, value in variables.items() for _ in _nul_paths(value, [name]))


def _nul_paths(value: Any, path: list[Any]) -> Iterator[list[Any]]:
    if isinstance(value, str):
        if NUL in value:
            yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _nul_paths(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, [*path, index])


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[StringValueNode] = []

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if NUL in node.value:
            self.found.append(node)


class StoredTextGuard(SchemaExtension):
    """Fails operations whose string literals or variables hold a NUL, before execution."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            errors = nul_errors(context.graphql_document, context.variables)
            if errors:
                context.pre_execution_errors = [*(context.pre_execution_errors or ()), *errors]
        yield
