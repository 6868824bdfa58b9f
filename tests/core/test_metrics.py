"""Process metrics: bounded operation labels, and samples of several processes added up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from core import metrics

RECORD = """
from core import metrics
observation = metrics.Observation("r")
observation.graphql, observation.operation, observation.sql_statements = True, "Light", 2
for _ in range({n}):
    metrics.finish(observation, "POST", "/graphql", 200)
"""


def test_processes_sharing_a_folder_are_added_up(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in (3, 4):  # two processes, as two server workers
        subprocess.run([sys.executable, "-c", RECORD.format(n=n)], env=env, check=True,
                       cwd=Path(__file__).resolve().parents[2], timeout=60)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    ok = {"operation": "Light", "outcome": "ok"}
    assert registry.get_sample_value("crm_graphql_operation_duration_seconds_count", ok) == 7
    assert registry.get_sample_value(
        "crm_graphql_sql_statements_sum", {"operation": "Light"}) == 14
    assert registry.get_sample_value("crm_http_request_duration_seconds_count", {
        "method": "POST", "route": "/graphql", "status": "200"}) == 7


def test_a_shared_folder_that_does_not_exist_yet_is_made(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet"  # as compose.yaml sets it for a fresh container
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    subprocess.run([sys.executable, "-c", RECORD.format(n=1)], env=env, check=True,
                   cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert any(folder.glob("histogram_*.db"))


def test_operation_names_are_bounded_labels() -> None:
    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("not a name!") == "other"
    assert metrics.operation_label("Light") == "Light"
    for i in range(metrics.MAX_OPERATION_NAMES):
        metrics.operation_label(f"Flood{i}")
    assert metrics.operation_label("OneTooMany") == "other"
    assert metrics.operation_label("Light") == "Light"  # names seen before keep their label
