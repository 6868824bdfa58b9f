"""`crm serve --workers 2`: a scrape of either process counts the requests both served, and the
server's own lines are JSON objects when asked for."""

from __future__ import annotations

import os
import subprocess

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_subscription_processes import CRM, Server, free_port

REQUESTS = 24


async def test_workers_share_their_metrics(db: str, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = os.environ | {
        "DATABASE_URL": db, "CRM_SECRET_KEY": settings.secret_key, "CRM_ENV": "test",
        "CRM_DATA_DIR": str(tmp_path), "CRM_LOG_FORMAT": "json", "CRM_LOG_LEVEL": "INFO",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
            [CRM, "serve", "--no-demo", "--workers", "2", "--port", str(port)], env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = Server(process, port, log)
    try:
        await server.wait_ready()
        # a new connection per request: either process may accept it
        for _ in range(REQUESTS):
            async with httpx.AsyncClient(base_url=server.http) as client:
                assert (await client.get("/healthz")).status_code == 200
        async with httpx.AsyncClient(base_url=server.http) as client:
            scraped = await client.get("/metrics")
    finally:
        server.stop()
    assert scraped.status_code == 200
    counts = [
        sample.value for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
        if sample.name == "crm_http_request_duration_seconds_count"
        and sample.labels.get("route") == "/healthz"
    ]
    assert sum(counts) == REQUESTS
    assert list((tmp_path / "metrics").glob("*.db"))
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    access = [orjson.loads(line) for line in lines if '"crm.access"' in line]
    assert len(access) >= REQUESTS
    assert {"time", "level", "logger", "request_id", "duration_ms"} <= set(access[0])
    assert any(orjson.loads(line)["logger"].startswith("uvicorn") for line in lines)
