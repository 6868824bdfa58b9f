"""Text PostgreSQL cannot store is refused before anything runs: a NUL character, and an
unpaired surrogate (JSON's ``"\ud800"``: a code point that is not Unicode text).

PostgreSQL rejects U+0000 in text and UTF-8 cannot encode a lone surrogate (a driver error deep
inside any statement that would carry either), so a string argument or variable holding one
(in a value or, in JSON, a key) is a client mistake: it gets a ``BAD_USER_INPUT`` error naming
where the character is, and no resolver runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import DocumentNode, GraphQLError, StringValueNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

NUL = "\x00"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _problem(text: str) -> str | None:
    """What makes ``text`` unstorable (None when nothing does)."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return "a NUL character" if found.group() == NUL else "an unpaired surrogate"


def nul_errors(document: DocumentNode, variables: Mapping[str, Any] | None) -> list[GraphQLError]:
    """One error per string literal or variable value (at any depth) holding a NUL or an
    unpaired surrogate."""
    errors: list[GraphQLError] = []
    for name, value in (variables or {}).items():
        for path, problem in _nul_paths(value, [name]):
            where = ".".join(str(p) for p in path)
            errors.append(GraphQLError(
                f"variable ${where} contains {problem}, which cannot be stored",
                extensions={"code": "BAD_USER_INPUT", "field": ["$" + str(path[0]), *path[1:]]},
            ))
    finder = _Literals()
    visit(document, finder)
    errors.extend(
        GraphQLError(f"a string contains {problem}, which cannot be stored", node,
                     extensions={"code": "BAD_USER_INPUT"})
        for node, problem in finder.found
    )
    return errors


def holds_nul(variables: Mapping[str, Any]) -> bool:
    """Whether any variable value, at any depth, holds a NUL or an unpaired surrogate."""
    return any(True for name, value in variables.items() for _ in _nul_paths(value, [name]))


def _nul_paths(value: Any, path: list[Any]) -> Iterator[tuple[list[Any], str]]:
    if isinstance(value, str):
        problem = _problem(value)
        if problem:
            yield path, problem
    elif isinstance(value, Mapping):
        for key, item in value.items():
            problem = _problem(key) if isinstance(key, str) else None
            if problem:  # a JSON key: the path ends at the object holding it
                yield path, f"{problem} in a key"
            else:
                yield from _nul_paths(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, [*path, index])


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[StringValueNode, str]] = []

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        problem = _problem(node.value)
        if problem:
            self.found.append((node, problem))


class StoredTextGuard(SchemaExtension):
    """Fails operations whose string literals or variables hold text PostgreSQL cannot store,
    before execution."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            errors = nul_errors(context.graphql_document, context.variables)
            if errors:
                context.pre_execution_errors = [*(context.pre_execution_errors or ()), *errors]
        yield
