"""/metrics: Prometheus text a real parser reads, guarded, with request and database figures."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request

from app.metrics_route import _refusal
from tests.factories import gid, make_customer

LIGHT = "query Light($id: ID!) { customer(id: $id) { id name email } }"


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_operations_errors_and_sql_are_counted(api, org) -> None:
    customer = await make_customer(org)
    before = await scrape(api.http)
    for _ in range(2):
        assert await api.data(LIGHT, id=gid(customer))
    refused = await api.http.post("/graphql", headers=api.headers, json={"query": "{ nope }"})
    assert refused.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    after = await scrape(api.http)

    ok = {"operation": "Light", "outcome": "ok"}
    name = "crm_graphql_operation_duration_seconds_count"
    assert value(after, name, **ok) - value(before, name, **ok) == 2
    errors = "crm_graphql_errors_total"
    code = {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert value(after, errors, **code) - value(before, errors, **code) == 1
    statements = "crm_graphql_sql_statements_sum"
    assert value(after, statements, operation="Light") - value(
        before, statements, operation="Light") >= 2  # at least one statement each
    http = {"method": "POST", "route": "/graphql", "status": "200"}
    requests = "crm_http_request_duration_seconds_count"
    assert value(after, requests, **http) - value(before, requests, **http) >= 3


async def test_database_gauges_are_read_at_scrape_time(http) -> None:
    samples = await scrape(http)
    names = {name for name, _ in samples}
    assert {
        "crm_outbox_depth", "crm_outbox_oldest_age_seconds", "crm_webhook_lag_seconds",
        "crm_db_pool_connections", "crm_subscriptions_open",
    } <= names
    assert value(samples, "crm_db_pool_connections", state="in_use") >= 0


async def test_only_loopback_clients_without_a_token(app) -> None:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as client:
        response = await client.get("/metrics")
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def request_from(host: str, authorization: str | None = None) -> Request:
    headers = [(b"authorization", authorization.encode())] if authorization else []
    return Request({"type": "http", "method": "GET", "path": "/metrics", "headers": headers,
                    "client": (host, 1234), "query_string": b""})


def test_a_token_admits_any_address_and_only_with_it(settings) -> None:
    guarded = settings.model_copy(update={"metrics_token": "t" * 32})
    assert _refusal(request_from("203.0.113.7", "Bearer " + "t" * 32), guarded) is None
    for attempt in (None, "Bearer wrong", "t" * 32):
        refusal = _refusal(request_from("127.0.0.1", attempt), guarded)
        assert refusal is not None
        assert refusal.status_code == 401
