"""Subscription payloads from compiled plans: per event, the selection under the subscription field.

A subscription document is planned once, like a query: its one root field on the Subscription
type, with everything selected below it. Per event the plan runs (``compiled.run``) with the
event as that field's value, which is what Strawberry's subscription fields resolve to for each
event their generator yields; so one group of subscribers (``services/live/fanout.py``) costs one
generated builder per selection instead of graphql-core's executor. Anything the query path
falls back on (a refused scope, a null in a non-null field, a failing statement) returns None:
the caller then renders the event on the generic executor, which words any error. Documents a
plan does not cover (abstract types, directives, resolver fields without a batched counterpart)
always render there. Both are counted in ``EventPlans.counts``, as the query path counts its own.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter, OrderedDict
from collections.abc import Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLError,
    GraphQLField,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
)
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.schema.schema import validate_document

from compiled.plan import Plan, Unsupported, build_on
from compiled.run import Fallback, run

if TYPE_CHECKING:
    from compiled.compiler import Compiler

log = logging.getLogger("crm.compiled")
_event: ContextVar[object] = ContextVar("crm_compiled_event")


def _event_value(root: object, info: object, **arguments: object) -> object:
    """The subscription field's value for the event being rendered."""
    return _event.get()


class EventPlans:
    """Plans of subscription documents, a bounded cache per (document, operation); counters."""

    def __init__(self, compiler: Compiler) -> None:
        self.compiler = compiler  # its schema, validation rules, limits and refusals
        self._plans: OrderedDict[tuple[str, str | None], Plan | str] = OrderedDict()
        self.counts: Counter[str] = Counter()

    def plan_for(self, query: str, operation_name: str | None) -> Plan | str:
        """The cached plan of this subscription operation, or why there is none."""
        key = (query, operation_name)
        found = self._plans.get(key)
        if found is not None:
            self._plans.move_to_end(key)
            return found
        found = self._build(query, operation_name)
        if isinstance(found, str):
            log.debug("subscription not compiled: %s", found)
        self._plans[key] = found
        if len(self._plans) > self.compiler.limits.cache_size:
            self._plans.popitem(last=False)
        return found

    def _build(self, query: str, operation_name: str | None) -> Plan | str:
        compiler = self.compiler
        schema = compiler.schema._schema
        try:
            document = parse(query, max_tokens=compiler.limits.max_tokens)
        except GraphQLError:
            return "invalid"
        if validate_document(schema, document, compiler.rules) or (
            compiler.refused_document(document)
        ):
            return "invalid"
        operation = get_operation_ast(document, operation_name)
        if not isinstance(operation, OperationDefinitionNode):
            return "invalid"
        if operation.operation != OperationType.SUBSCRIPTION or schema.subscription_type is None:
            return f"{operation.operation.value} operation"
        try:
            plan = build_on(compiler.schema, document, operation, schema.subscription_type)
        except Unsupported as exc:
            return str(exc)
        for root in plan.roots:  # the event is the value; its generator was the resolver
            definition = root.field.definition
            root.field.definition = GraphQLField(
                definition.type, definition.args, resolve=_event_value
            )
        return plan

    def renderer(
        self, query: str, operation_name: str | None, variables: Mapping[str, Any] | None
    ) -> EventRenderer:
        """What renders one group's events: the document's plan with the group's variables."""
        plan = self.plan_for(query, operation_name)
        if isinstance(plan, str):
            return EventRenderer(self, None, None, plan)
        coerced = get_variable_values(
            self.compiler.schema._schema, plan.operation.variable_definitions or (),
            dict(variables or {}),
        )
        if isinstance(coerced, list) or (variables and self.compiler.refused_variables(variables)):
            return EventRenderer(self, None, None, "variables")
        return EventRenderer(self, plan, coerced, None)


class EventRenderer:
    """One group's compiled rendering; None from a call means "use the generic executor"."""

    def __init__(
        self, plans: EventPlans, plan: Plan | None, variables: VariableValues | None,
        reason: str | None,
    ) -> None:
        self.plans = plans
        self.plan = plan
        self.variables = variables  # coerced once: a group's members share their variables
        self.reason = reason  # why there is no plan

    async def __call__(self, event: object, context: Any) -> dict[str, Any] | None:
        """The ``data`` of the subscription's result for ``event``, or None."""
        counts = self.plans.counts
        if self.plan is None or self.variables is None:
            counts[f"generic: {self.reason}"] += 1
            return None
        token = _event.set(event)
        try:
            data = await run(self.plan, self.plans.compiler.schema, context, self.variables)
        except Fallback as exc:
            counts[f"fallback: {exc}"] += 1
            return None
        except Exception as exc:  # a bug here must cost speed, never an answer
            counts[f"fallback: unexpected {type(exc).__name__}"] += 1
            # where it failed, not the message: messages may quote values (personal data)
            log.error(
                "compiled subscription plan failed with %s; the generic executor renders\n%s",
                type(exc).__qualname__, "".join(traceback.format_tb(exc.__traceback__)),
            )
            return None
        finally:
            _event.reset(token)
        counts["compiled"] += 1
        return data
