"""compose.yaml: the deployment's shape, and `docker compose config` when docker is here."""

from __future__ import annotations

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
    env.pop("CRM_SECRET_KEY")
    refused = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
                             env=env, capture_output=True, text=True, check=False, timeout=60)
    assert "set CRM_SECRET_KEY" in refused.stderr
