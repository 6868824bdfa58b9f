"""Traces: one request's span tree (in-memory exporter), and nothing while tracing is off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from core import tracing
from tests.factories import gid, make_customer

LIGHT = "query Light($id: ID!) { customer(id: $id) { id name email } }"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.install(None)


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = []
    while span.parent is not None and not span.parent.is_remote:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


async def test_a_request_is_one_tree_of_operation_and_statements(api, org, exporter) -> None:
    customer = await make_customer(org)
    exporter.clear()
    response = await api.http.post(
        "/graphql", headers={**api.headers, "traceparent":
                             "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
        json={"query": LIGHT, "variables": {"id": gid(customer)}},
    )
    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    (root,) = [span for span in spans if span.parent is None or span.parent.is_remote]
    assert root.name == "POST /graphql"
    assert root.attributes["http.response.status_code"] == 200
    assert f"{root.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"  # continued
    assert {span.context.trace_id for span in spans} == {root.context.trace_id}
    operations = [span for span in spans if span.name == "graphql.operation"]
    assert operations
    assert all(ancestors(span, by_id) == ["POST /graphql"] for span in operations)
    assert operations[0].attributes["graphql.operation.name"] == "Light"
    statements = [span for span in spans if span.name == "SQL"]
    under_operation = [s for s in statements if ancestors(s, by_id)[0] == "graphql.operation"]
    assert under_operation
    assert all("SELECT" in str(s.attributes["db.statement"]).upper() for s in under_operation)
    assert str(customer.email) not in str([s.attributes for s in spans])


def test_nothing_is_recorded_while_off() -> None:
    assert not tracing.enabled()
    assert tracing.span("x") is tracing.span("y")  # one shared no-op
    assert tracing.child_span("SQL") is tracing.span("x")
