"""compose.yaml: the deployment's shape, and `docker compose config` when docker is here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "compose.yaml"
SECRETS = {"CRM_SECRET_KEY": "k" * 48, "POSTGRES_PASSWORD": "p" * 24}


def test_services_volume_and_secrets() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    assert set(services) == {"db", "migrate", "api", "worker"}
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    assert "pgdata" in spec["volumes"]
    api = services["api"]["command"]
    assert api[api.index("--workers") + 1] == "2"
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully")
        assert services[name]["environment"]["CRM_ENV"] == "production"
        assert services[name]["environment"]["CRM_SECRET_KEY"].startswith("${CRM_SECRET_KEY:?")
        # the image's /data (embedded PostgreSQL) is unused: no anonymous volume per container
        assert services[name]["tmpfs"] == ["/data"]


def test_one_image_built_once() -> None:
    """Three `build:` entries built three images under one tag; the next `up` recreated (and
    briefly cut off) whichever container ran one of the others (seen: docs/DEPLOYMENT-RUN.md)."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert [name for name, spec in services.items() if "build" in spec] == ["migrate"]
    for name in ("migrate", "api", "worker"):
        assert services[name]["image"] == "crm:latest"
        assert services[name]["pull_policy"] == "never"


def test_health_checks_and_email_settings() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert "healthcheck" not in services["api"]  # the image's /readyz check
    for name in ("migrate", "worker"):  # no HTTP port to ask
        assert services[name]["healthcheck"] == {"disable": True}
    environment = services["worker"]["environment"]
    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_TLS", "SMTP_USERNAME", "SMTP_PASSWORD",
                 "SMTP_FROM"):
        assert environment[name].startswith("${" + name + ":-"), name


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _compose_available(),
                    reason="docker with the compose plugin is not installed")
def test_docker_compose_config_validates() -> None:
    env = {**os.environ, **SECRETS}
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
                            env=env, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    rendered = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--format", "json"],
        env={**env, "SMTP_HOST": "relay.example", "SMTP_TLS": "none"},
        capture_output=True, text=True, check=True, timeout=60)
    services = json.loads(rendered.stdout)["services"]
    worker = services["worker"]["environment"]
    assert worker["CRM_SECRET_KEY"] == SECRETS["CRM_SECRET_KEY"]
    assert (worker["SMTP_HOST"], worker["SMTP_TLS"], worker["SMTP_PORT"]) == (
        "relay.example", "none", "")
    assert services["api"]["ports"][0]["target"] == 8000
    env.pop("CRM_SECRET_KEY")
    refused = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
                             env=env, capture_output=True, text=True, check=False, timeout=60)
    assert "set CRM_SECRET_KEY" in refused.stderr
