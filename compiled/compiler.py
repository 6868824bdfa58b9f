"""The compiled path's front door: a bounded cache of plans per document, and its counters.

A document is parsed, validated (the same rules and limits as the generic path) and planned
once; afterwards a request costs a dictionary lookup, the coercion of its variables and the
plan's run. Documents that are invalid or that a plan cannot serve are remembered as such and
go straight to the generic executor.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import (
    ArgumentNode,
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    VariableNode,
    Visitor,
    get_operation_ast,
    parse,
    visit,
)
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.schema.schema import validate_document

from compiled import plan as plans
from compiled.events import EventPlans
from compiled.run import Fallback, run
from compiled.variables import coerce, leaves

log = logging.getLogger("crm.compiled")
COSTS_PER_PLAN = 64  # remembered costs per plan (distinct page sizes a client asks for)
_ABSENT = object()


def _variables_in(document: DocumentNode, arguments: frozenset[str]) -> tuple[str, ...]:
    """The names of the variables given to ``arguments`` anywhere in ``document``."""
    names: dict[str, None] = {}

    class Finder(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            if node.name.value in arguments and isinstance(node.value, VariableNode):
                names[node.value.name.value] = None

    visit(document, Finder())
    return tuple(names)


@dataclass(frozen=True)
class Limits:
    """What the generic path refuses before execution, applied the same way here."""

    max_tokens: int
    max_cost: int
    cache_size: int
    # arguments whose values the cost depends on (page sizes); every other argument's value
    # leaves it unchanged, so a cost is remembered per plan and values of these
    cost_arguments: frozenset[str] = frozenset({"first", "last"})


class Compiler:
    """Serves query operations from compiled plans; None means "use the generic executor"."""

    def __init__(
        self, schema: strawberry.Schema, rules: Sequence[type[ASTValidationRule]], limits: Limits,
        cost: Callable[[Any, str | None, Any], int], remember_cost: Callable[[Any, int], None],
        refused_document: Callable[[Any], bool] = lambda document: False,
        refused_variables: Callable[[Mapping[str, Any]], bool] = lambda variables: False,
    ) -> None:
        self.schema = schema
        self.rules = tuple(rules)
        self.limits = limits
        self.cost = cost  # (document, operation name, raw variables) -> the query cost
        self.remember_cost = remember_cost  # (context, cost): for the response's extensions
        # whether the generic path refuses a document or variables before execution (e.g. text
        # PostgreSQL cannot store), so that its errors word the refusal
        self.refused_document = refused_document
        self.refused_variables = refused_variables
        self._plans: OrderedDict[tuple[str, str | None], plans.Plan | str] = OrderedDict()
        self.counts: Counter[str] = Counter()
        self.events = EventPlans(self)  # subscription payloads, per event (compiled/events.py)

    def plan_for(self, query: str, operation_name: str | None) -> plans.Plan | str:
        """The cached plan of this operation, or why there is none."""
        key = (query, operation_name)
        found = self._plans.get(key)
        if found is not None:
            self._plans.move_to_end(key)
            return found
        found = self._build(query, operation_name)
        if isinstance(found, str):
            log.debug("not compiled: %s", found)
        self._plans[key] = found
        if len(self._plans) > self.limits.cache_size:
            self._plans.popitem(last=False)
        return found

    def _build(self, query: str, operation_name: str | None) -> plans.Plan | str:
        try:
            document = parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError:
            return "invalid"
        if validate_document(self.schema._schema, document, self.rules):
            return "invalid"
        if self.refused_document(document):
            return "invalid"
        operation = get_operation_ast(document, operation_name)
        if not isinstance(operation, OperationDefinitionNode):
            return "invalid"
        try:
            return plans.build(self.schema, document, operation)
        except plans.Unsupported as exc:
            return str(exc)

    async def execute(
        self, query: str | None, operation_name: str | None,
        variables: Mapping[str, Any] | None, context: Any,
    ) -> dict[str, Any] | None:
        """The ``data`` of this request from its compiled plan, or None for the generic path."""
        if not query:
            return None
        plan = self.plan_for(query, operation_name)
        if isinstance(plan, str):
            self.counts[f"generic: {plan}"] += 1
            return None
        return await self.run(plan, operation_name, variables, context)

    def _variables(
        self, plan: plans.Plan, variables: Mapping[str, Any] | None
    ) -> VariableValues | list[GraphQLError]:
        """The request's coerced variables, or graphql-core's errors."""
        definitions = plan.operation.variable_definitions or ()
        if plan.leaves is None:
            plan.leaves = leaves(self.schema._schema, definitions) or ()
        if plan.leaves or not definitions:
            fast = coerce(plan.leaves, variables or {})
            if fast is not None:
                return fast
        return get_variable_values(self.schema._schema, definitions, dict(variables or {}))

    def _cost(
        self, plan: plans.Plan, operation_name: str | None, variables: Mapping[str, Any] | None
    ) -> int:
        """The operation's cost, computed once per plan and values of its page-size variables."""
        if plan.cost_variables is None:
            plan.cost_variables = _variables_in(plan.document, self.limits.cost_arguments)
        given = variables or {}
        # typed: True == 1 as a key, but only an int sizes a page
        key = tuple(
            (type(value), value)
            for value in (given.get(name, _ABSENT) for name in plan.cost_variables)
        )
        try:
            return plan.costs[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value (a list): no page size, computed each time
            return self.cost(plan.document, operation_name, variables)
        cost = self.cost(plan.document, operation_name, variables)
        if len(plan.costs) < COSTS_PER_PLAN:
            plan.costs[key] = cost
        return cost

    async def run(
        self, plan: plans.Plan, operation_name: str | None,
        variables: Mapping[str, Any] | None, context: Any,
    ) -> dict[str, Any] | None:
        """The ``data`` of this request from ``plan``, or None for the generic path."""
        coerced = self._variables(plan, variables)
        if isinstance(coerced, list) or (variables and self.refused_variables(variables)):
            self.counts["fallback: variables"] += 1
            return None
        cost = self._cost(plan, operation_name, variables)
        self.remember_cost(context, cost)
        if cost > self.limits.max_cost:
            self.counts["fallback: cost"] += 1
            return None
        try:
            data = await run(plan, self.schema, context, coerced)
        except Fallback as exc:
            self.counts[f"fallback: {exc}"] += 1
            return None
        except Exception as exc:  # a bug here must cost speed, never an answer
            self.counts[f"fallback: unexpected {type(exc).__name__}"] += 1
            # where it failed, not the message: messages may quote values (personal data)
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error(
                "compiled plan of %s failed with %s (request %s); the generic executor answers"
                "\n%s", operation_name or "an anonymous operation", type(exc).__qualname__,
                getattr(context, "request_id", None), frames,
            )
            return None
        self.counts["compiled"] += 1
        return data
