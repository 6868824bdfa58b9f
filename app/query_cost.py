"""Query cost: an estimate of the work an operation asks for, refused over a limit before any SQL.

Every selected field costs one per time it can be resolved; a paginated field (one with
``first``/``last``) multiplies the cost of what is selected inside it by its page size (the
default page size when none is given, at most the maximum). So
``customers(first: 100) { nodes { interactions(first: 50) { nodes { id } } } }`` costs
1 + 100 * (1 + 1 + 50 * (1 + 1)) = 10,201.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
    validate,
)
from strawberry.extensions import SchemaExtension

from app import limits

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
PAGE_ARGUMENTS = ("first", "last")


@dataclass(frozen=True)
class PageSizes:
    """How connections size pages: the size when none is asked for, and the most allowed."""

    default: int
    maximum: int


class _Walk:
    """One cost computation over one operation of a parsed document."""

    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any], pages: PageSizes,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.pages = pages

    def selection_set(
        self, selections: SelectionSetNode, parent: GraphQLNamedType | None,
        spreads: frozenset[str] = frozenset(),
    ) -> int:
        cost = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                cost += self.field(selection, parent, spreads)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                cost += self.selection_set(selection.selection_set, target, spreads)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in spreads:  # unknown or cyclic: validation says so
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value)
                cost += self.selection_set(fragment.selection_set, target, spreads | {name})
        return cost

    def field(
        self, node: FieldNode, parent: GraphQLNamedType | None, spreads: frozenset[str]
    ) -> int:
        if node.name.value.startswith("__"):
            return 0  # introspection and __typename cost nothing worth counting
        definition = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(node.name.value)
        if node.selection_set is None:
            return 1
        child = get_named_type(definition.type) if definition is not None else None
        paginated = definition is not None and any(a in definition.args for a in PAGE_ARGUMENTS)
        size = self.page_size(node) if paginated else 1
        return 1 + size * self.selection_set(node.selection_set, child, spreads)

    def page_size(self, node: FieldNode) -> int:
        asked = [self.argument(node, name) for name in PAGE_ARGUMENTS]
        sizes = [size for size in asked if size is not None]
        size = max(sizes) if sizes else self.pages.default
        return max(0, min(size, self.pages.maximum))

    def argument(self, node: FieldNode, name: str) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                return given if isinstance(given, int) and not isinstance(given, bool) else None
        return None


def operation_cost(
    schema: GraphQLSchema, document: Any, operation_name: str | None,
    variables: Mapping[str, Any] | None, pages: PageSizes,
) -> int:
    """The estimated cost of the operation ``operation_name`` of a parsed ``document``."""
    operation = get_operation_ast(document, operation_name)
    if not isinstance(operation, OperationDefinitionNode):
        return 0
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = schema.get_root_type(operation.operation)
    walk = _Walk(schema, fragments, variables or {}, pages)
    return walk.selection_set(operation.selection_set, root)


def too_complex(cost: int, limit: int) -> GraphQLError:
    """The error for an operation over the cost limit."""
    return GraphQLError(
        f"query cost {cost} is over the limit of {limit}: ask for smaller pages"
        " (first/last) or fewer nested connections",
        extensions={"code": QUERY_TOO_COMPLEX, "cost": cost, "maxCost": limit},
    )


def cost_limiter(max_cost: int, pages: PageSizes) -> Callable[[], SchemaExtension]:
    """A schema extension factory refusing operations that cost more than ``max_cost``."""
    return lambda: QueryCostLimiter(max_cost=max_cost, pages=pages)


class QueryCostLimiter(SchemaExtension):
    """Computes the cost of every valid operation; over the limit it fails validation, and
    otherwise it is charged to the caller's rate limit budget (refused when over it).

    The cost is left in ``request.state.query_cost`` for response ``extensions``.
    """

    def __init__(self, *, max_cost: int, pages: PageSizes) -> None:
        self.max_cost = max_cost
        self.pages = pages

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        schema = context.schema._schema
        if context.pre_execution_errors is None and context.graphql_document is not None:
            # normally ValidationCache (listed earlier) has validated the document already
            context.pre_execution_errors = validate(
                schema, context.graphql_document, context.validation_rules
            )
        if not context.pre_execution_errors and context.graphql_document is not None:
            cost = operation_cost(
                schema, context.graphql_document, context.operation_name, context.variables,
                self.pages,
            )
            remember_cost(context.context, cost)
            if cost > self.max_cost:
                context.pre_execution_errors = [too_complex(cost, self.max_cost)]
            elif (refusal := await limits.charge(context.context, cost)) is not None:
                context.pre_execution_errors = [refusal]
        yield


def remember_cost(context: Any, cost: int) -> None:
    """Keep an operation's cost on its request, for the response's ``extensions``."""
    request = getattr(context, "request", None)
    state = getattr(request, "state", None)
    if state is not None:
        state.query_cost = cost


def cost_of(request: Any) -> int | None:
    """The cost of the last operation ``request`` carried (None before one was costed)."""
    return getattr(getattr(request, "state", None), "query_cost", None)
