"""OpenTelemetry spans: the request, its GraphQL operation, SQL statements, SMTP and webhooks.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set: then spans go to
that collector over OTLP/HTTP, tuned by the standard ``OTEL_*`` variables. While off,
``span()`` hands out one shared no-op context manager and nothing else runs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from core.config import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

log = logging.getLogger("crm.tracing")
_NOTHING: AbstractContextManager[None] = nullcontext()
_tracer: Tracer | None = None
_provider: TracerProvider | None = None


def enabled() -> bool:
    """Whether spans are being recorded in this process."""
    return _tracer is not None


def configure(settings: Settings) -> None:
    """Export spans over OTLP/HTTP when a collector is configured (once per process)."""
    if _tracer is not None or settings.otel_exporter_otlp_endpoint is None:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.otel_service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    install(provider)
    log.info("tracing to %s", settings.otel_exporter_otlp_endpoint)


def install(provider: TracerProvider | None) -> None:
    """Record spans with ``provider`` (None: stop recording); tests pass an in-memory one."""
    global _tracer, _provider
    _provider = provider
    _tracer = provider.get_tracer("crm") if provider is not None else None


def shutdown() -> None:
    """Send what is buffered (at process exit)."""
    if _provider is not None:
        _provider.shutdown()


def span(name: str, attributes: Mapping[str, Any] | None = None,
         *, kind: str = "internal") -> AbstractContextManager[Any]:
    """A span around a block (a shared no-op while tracing is off)."""
    if _tracer is None:
        return _NOTHING
    return _span(_tracer, name, attributes, kind)


def child_span(name: str, attributes: Mapping[str, Any] | None = None,
               *, kind: str = "client") -> AbstractContextManager[Any]:
    """A span only inside a traced block (SQL of background pollers would flood traces)."""
    if _tracer is None:
        return _NOTHING
    from opentelemetry import trace

    if not trace.get_current_span().is_recording():
        return _NOTHING
    return _span(_tracer, name, attributes, kind)


def sql_span(statement: str) -> AbstractContextManager[Any]:
    """A span for one SQL statement inside a traced block (no cost while tracing is off)."""
    if _tracer is None:
        return _NOTHING
    return child_span("SQL", {"db.system": "postgresql", "db.statement": statement})


def request_span(name: str, headers: Mapping[str, str],
                 attributes: Mapping[str, Any]) -> AbstractContextManager[Any]:
    """A server span continuing the caller's trace (W3C ``traceparent``) if it sent one."""
    if _tracer is None:
        return _NOTHING
    from opentelemetry.propagate import extract

    return _span(_tracer, name, attributes, "server", extract(headers))


@contextmanager
def _span(tracer: Tracer, name: str, attributes: Mapping[str, Any] | None, kind: str,
          parent: Any = None) -> Iterator[Any]:
    from opentelemetry.trace import SpanKind

    with tracer.start_as_current_span(
        name, context=parent, kind=SpanKind[kind.upper()], attributes=dict(attributes or {}),
    ) as current:
        yield current


def set_attributes(current: Any, attributes: Mapping[str, Any]) -> None:
    """Add ``attributes`` to a span from ``span()`` (nothing while tracing is off)."""
    if current is not None:
        with contextlib.suppress(Exception):
            current.set_attributes(dict(attributes))
