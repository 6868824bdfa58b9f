"""The crm command: help everywhere, and user creation against the test database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from db.models import Organization, User

COMMANDS = [[], ["serve"], ["migrate"], ["seed"], ["users"], ["users", "create"],
            ["orgs"], ["orgs", "create"], ["orgs", "update"],
            ["import"], ["export"], ["worker"], ["train"]]


def _crm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})}, check=False,
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "crm")
def test_every_command_has_help(command: list[str]) -> None:
    result = _crm(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: crm" in result.stdout


async def test_users_create(db: str) -> None:
    email = "cli-user@example.com"
    result = _crm("users", "create", "--org", "CLI Org", "--email", email,
                  "--password", "long enough password", "--role", "MANAGER",
                  env={"DATABASE_URL": db})
    assert result.returncode == 0, result.stderr
    user = await User.get(email=email).prefetch_related("organization")
    assert user.role == "MANAGER"
    assert user.organization.slug == "cli-org"
    again = _crm("users", "create", "--org", "CLI Org", "--email", email.upper(),
                 "--password", "long enough password", env={"DATABASE_URL": db})
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_production_without_a_secret_key_says_what_to_set() -> None:
    result = _crm("serve", "--no-demo", env={"CRM_ENV": "production", "CRM_SECRET_KEY": ""})
    assert result.returncode == 2
    assert "Cannot start: CRM_SECRET_KEY must be set" in result.stderr
    assert "secrets.token_urlsafe" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_shows_defaults() -> None:
    result = _crm("serve", "--help")
    assert "port to listen on (default: 8000)" in " ".join(result.stdout.split())
    assert "(default: True)" not in result.stdout  # flags say what they do, not a default


def test_a_taken_port_is_reported_first_with_a_hint() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _crm("serve", "--port", str(port), env={"CRM_DATA_DIR": "/nonexistent/crm"})
    assert result.returncode == 1
    first = result.stderr.strip().splitlines()[0]
    assert f"Port {port} on 127.0.0.1 is already in use" in first
    assert "--port" in first


def test_several_server_processes_share_an_emptied_metrics_folder(
    tmp_path, monkeypatch, settings
) -> None:
    from app.cli import _share_metrics

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    _share_metrics(1, settings.model_copy(update={"data_dir": tmp_path}))
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ  # one process keeps them in memory
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_123.db").write_bytes(b"stale")
    _share_metrics(2, settings.model_copy(update={"data_dir": tmp_path}))
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "metrics")
    assert not list((tmp_path / "metrics").iterdir())


async def test_an_organizations_currency_time_zone_and_locale_are_set_at_creation(db: str) -> None:
    env = {"DATABASE_URL": db}
    bad = _crm("orgs", "create", "Kyoto Tea", "--currency", "YEN", env=env)
    assert bad.returncode == 2
    assert "ISO 4217" in bad.stderr
    made = _crm("orgs", "create", "Kyoto Tea", "--currency", "jpy", "--time-zone",
                "asia/tokyo", "--locale", "JA-jp", env=env)
    assert made.returncode == 0, made.stderr
    org = await Organization.get(slug="kyoto-tea")
    assert (org.currency, org.time_zone, org.locale) == ("JPY", "Asia/Tokyo", "ja-JP")
    assert _crm("orgs", "create", "Kyoto Tea", env=env).returncode == 1
    changed = _crm("orgs", "update", "kyoto-tea", "--currency", "EUR", env=env)
    assert changed.returncode == 0, changed.stderr
    assert (await Organization.get(slug="kyoto-tea")).currency == "EUR"
    user = _crm("users", "create", "--org", "Lisbon Books", "--email", "lb@example.com",
                "--password", "long enough password", "--currency", "EUR", "--time-zone",
                "Europe/Lisbon", env=env)
    assert user.returncode == 0, user.stderr
    lisbon = await Organization.get(slug="lisbon-books")
    assert (lisbon.currency, lisbon.time_zone, lisbon.locale) == ("EUR", "Europe/Lisbon", "en-US")
