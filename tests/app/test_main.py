"""The HTTP surface: health, request ids, error masking, limits, GET queries, GraphiQL."""

from __future__ import annotations

import logging

import pytest

from db import customer as customers
from tests.factories import gid, make_customer


async def test_health_and_readiness(http) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok"}


async def test_internal_errors_are_masked_and_logged_with_request_id(
    api, org, monkeypatch, caplog
) -> None:
    customer = await make_customer(org)

    async def broken(**kwargs):
        secret = "hunter" + "2"  # as data would be: not in any source line
        raise RuntimeError(f"secret detail: password={secret}")

    monkeypatch.setattr(customers, "get_many", broken)
    with caplog.at_level(logging.ERROR, logger="crm.graphql"):
        response = await api.http.post(
            "/graphql", headers=api.headers,
            json={"query": "query($id: ID!) { customer(id: $id) { id } }",
                  "variables": {"id": gid(customer)}},
        )
    body = response.json()
    (error,) = body["errors"]
    request_id = response.headers["x-request-id"]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert "hunter2" not in response.text
    (record,) = [r for r in caplog.records if request_id in r.getMessage()]
    assert "builtins.RuntimeError" in record.getMessage()
    assert "raise RuntimeError" in record.getMessage()  # where it failed ...
    assert "hunter2" not in caplog.text  # ... but not the message, which may hold data


async def test_access_log_leaves_out_query_strings(http, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="crm.access"):
        await http.get("/graphql", params={"query": "{ viewer { user { email } } }",
                                           "variables": '{"email": "jane@example.com"}'})
    (line,) = [r.getMessage() for r in caplog.records if r.name == "crm.access"]
    assert line.startswith("GET /graphql 200 ")
    assert "jane" not in caplog.text


async def test_incoming_request_id_is_kept(http) -> None:
    response = await http.get("/healthz", headers={"x-request-id": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    response = await http.get("/healthz", headers={"x-request-id": "bad id\n"})
    assert response.headers["x-request-id"] != "bad id\n"


async def test_oversize_body_is_refused(http, settings) -> None:
    response = await http.post("/graphql", content=b"x" * (settings.max_request_bytes + 1),
                               headers={"content-type": "application/json"})
    assert response.status_code == 413


async def test_invalid_documents_get_codes(api) -> None:
    body = await api("{ customers { nope } }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    body = await api("{ customers { ")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_deep_queries_are_refused_before_running(api) -> None:
    deep = "{ customers { nodes { " + "interactions { nodes { customer { " * 5 + "id" + " } } }" * 5
    body = await api(deep + " } } }")
    assert body["errors"]
    assert "depth" in body["errors"][0]["message"]


async def test_get_queries_work(http, api, org) -> None:
    await make_customer(org)
    response = await http.get("/graphql", params={"query": "{ customers { totalCount } }"},
                              headers=api.headers)
    assert response.json()["data"] == {"customers": {"totalCount": 1}}


@pytest.mark.parametrize("path", ["/graphql"])
async def test_graphiql_page_is_served_offline(http, path) -> None:
    response = await http.get(path, headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql.min.js" in response.text
    assert "https://" not in response.text


async def test_responses_carry_cost_and_rate_limit_budget(api, org, settings) -> None:
    await make_customer(org)
    body = await api("{ customers(first: 10) { nodes { name interactions(first: 5) "
                     "{ nodes { id } } } } }")
    pacing = body["extensions"]
    assert pacing["cost"]["requested"] > 10
    assert pacing["cost"]["limit"] == settings.query_max_cost
    assert pacing["rateLimit"]["limit"] > pacing["rateLimit"]["remaining"] >= 0
    again = (await api("{ customers(first: 10) { nodes { name } } }"))["extensions"]
    # the bucket refills meanwhile, but never past what is left plus the time gone by
    assert again["rateLimit"]["remaining"] <= pacing["rateLimit"]["remaining"]
    assert again["cost"]["requested"] < pacing["cost"]["requested"]


async def test_json_access_line_names_request_caller_and_operation(api, admin, org) -> None:
    import orjson

    from core.logs import JsonFormatter

    lines: list[str] = []
    handler = logging.Handler()
    handler.setFormatter(JsonFormatter())
    handler.emit = lambda record: lines.append(handler.format(record))  # type: ignore[method-assign]
    logger = logging.getLogger("crm.access")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        response = await api.http.post(
            "/graphql", headers=api.headers,
            json={"query": "query Find($q: String) { customers(filter: {search: $q}) "
                           "{ totalCount } }", "variables": {"q": "jane@example.com"}},
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    (line,) = [orjson.loads(text) for text in lines]
    assert line["request_id"] == response.headers["x-request-id"]
    assert (line["organization_id"], line["user_id"]) == (org.id, admin.id)
    assert line["operation"] == "Find"
    assert line["status"] == 200
    assert line["duration_ms"] > 0
    assert "jane" not in "".join(lines)
