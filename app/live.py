"""Websocket handlers that put subscriptions into fan-out groups (see ``services/live/fanout.py``).

Two subscriptions share a group, and so one execution and one encoded payload per event, only
when everything that can change the bytes is equal: the document, operation name and variables
(which hold the filter), and the permission context (organization, role, API key or not, the
key's scopes, PII masking with its personal custom fields). Nothing reachable from a
subscription depends on who the user is;
the one per-socket value, the request id of masked internal errors, never leaves a group: a
result with errors is not shared and each member executes it as before. A group renders its
events from a compiled plan of its selection when there is one (``compiled/events.py``).
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Hashable
from typing import Any

import orjson
import strawberry
from graphql import DocumentNode, parse
from graphql.execution import execute_subscription_event
from graphql.execution.executor_throwing_on_incremental import ExecutorThrowingOnIncremental
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from auth.context import Context
from auth.pii import masking
from compiled.compiler import Compiler
from compiled.events import EventRenderer
from services.live import fanout

log = logging.getLogger("crm.live")


def group_key(
    context: Any, query: str, operation_name: str | None, variables: object
) -> Hashable | None:
    """Everything that can change a subscription's bytes; None when it must not be shared."""
    viewer = getattr(context, "viewer", None)
    if viewer is None or getattr(context, "auth_error", None) is not None:
        return None
    try:
        canonical = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    return (
        query, operation_name, canonical, viewer.organization_id, viewer.role, viewer.is_key,
        tuple(sorted(viewer.key_scopes)) if viewer.is_key else (), masking(context),
    )


class Renderer:
    """Executes a group's selection for one event's root value and encodes its payload.

    A compiled plan of the selection (``compiled/events.py``) renders it when it can; the
    generic executor otherwise, and always when the plan declines an event (any error). With
    ``compiled_verify`` both run and a difference is logged, counted and the generic bytes sent.
    """

    def __init__(
        self, schema: strawberry.Schema, context: Context, query: str,
        operation_name: str | None, variables: dict[str, Any] | None,
        compiled: EventRenderer | None = None,
    ) -> None:
        self.schema = schema
        self.context = context
        self.query = query
        self.operation_name = operation_name
        self.variables = variables
        self.compiled = compiled
        self._document: DocumentNode | None = None

    def _fresh_context(self) -> Context:
        # a context of its own: fresh loaders per event, never the socket's shared ones
        context = copy.copy(self.context)
        context.reset_loaders()
        return context

    async def __call__(self, root: object) -> bytes | None:
        """``{"data": ...}`` as the subscriber would receive it; None if it has errors."""
        if self.compiled is not None:
            data = await self.compiled(root, self._fresh_context())
            if data is not None:
                payload = orjson.dumps({"data": data})
                if self.context.settings.compiled_verify:
                    return await self._verified(payload, root)
                return payload
        return await self.generic(root)

    async def generic(self, root: object) -> bytes | None:
        """The payload from graphql-core's executor; None if it has errors."""
        if self._document is None:
            self._document = parse(self.query)
        executor = ExecutorThrowingOnIncremental.build(
            self.schema._schema, self._document, None, self._fresh_context(), self.variables,
            self.operation_name,
        )
        if isinstance(executor, list):
            return None
        result = execute_subscription_event(executor.build_per_event_executor(root))
        if inspect.isawaitable(result):
            result = await result
        if result.errors:
            return None
        return orjson.dumps({"data": result.data})

    async def _verified(self, payload: bytes, root: object) -> bytes | None:
        generic = await self.generic(root)
        if generic == payload:
            return payload
        assert self.compiled is not None
        self.compiled.plans.counts["mismatch"] += 1
        log.error("compiled subscription payload differs from the generic one (operation %s)",
                  self.operation_name)
        return generic


class _Sender:
    """Sends shared payloads as one operation's messages, in the protocol's exact bytes."""

    def __init__(self, websocket: Any, prefix: bytes, operation: Operation[Any, Any] | None
                 ) -> None:
        self.websocket = websocket
        self.prefix = prefix
        self.operation = operation

    async def send(self, payload: bytes) -> None:
        if self.operation is not None and self.operation.completed:
            return
        await self.websocket.send_text((self.prefix + payload + b"}").decode())


def _bind(handler: Any, query: str, operation_name: str | None,
          variables: dict[str, Any] | None, sender: _Sender) -> Any:
    schema = handler.schema
    context = handler.context
    compiler: Compiler | None = getattr(handler.view, "compiler", None)

    def renderer() -> Renderer:
        compiled = compiler.events.renderer(query, operation_name, variables) if compiler else None
        return Renderer(schema, context, query, operation_name, variables, compiled)

    return fanout.bind(
        handler.view.fanout, group_key(context, query, operation_name, variables), sender,
        renderer,
    )


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws, with subscriptions in fan-out groups."""

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        prefix = b'{"id":' + orjson.dumps(operation.id) + b',"type":"next","payload":'
        sender = _Sender(self.websocket, prefix, operation)
        with _bind(self, operation.query, operation.operation_name, operation.variables, sender):
            await super().run_operation(operation)


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """Legacy graphql-ws, with subscriptions in fan-out groups."""

    async def handle_async_results(
        self, operation_id: str, query: str, operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        prefix = b'{"type":"data","id":' + orjson.dumps(operation_id) + b',"payload":'
        sender = _Sender(self.websocket, prefix, None)
        with _bind(self, query, operation_name, variables, sender):
            await super().handle_async_results(operation_id, query, operation_name, variables)
