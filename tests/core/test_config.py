"""Settings: read once, and unsafe configurations refused at start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.config import DEFAULT_SECRET, Settings


@pytest.mark.parametrize("env", ["production", "test"])
@pytest.mark.parametrize("secret", [DEFAULT_SECRET, "short-but-set"])
def test_outside_development_default_or_short_secret_is_refused(env: str, secret: str) -> None:
    with pytest.raises(ValidationError, match="CRM_SECRET_KEY"):
        Settings(env=env, secret_key=secret)


def test_development_runs_with_the_default_secret() -> None:
    assert Settings(env="development").secret_key == DEFAULT_SECRET


def test_production_accepts_a_strong_secret() -> None:
    settings = Settings(env="production", secret_key="k" * 48)
    assert settings.env == "production"


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example:5432/crm")
    monkeypatch.setenv("CRM_MAX_PAGE_SIZE", "50")
    monkeypatch.setenv("SMTP_HOST", "mail.example")
    settings = Settings()
    assert settings.database_url == "postgresql://u@db.example:5432/crm"
    assert settings.max_page_size == 50
    assert settings.smtp_host == "mail.example"


def test_empty_optional_variables_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """compose.yaml passes ``SMTP_PORT: ${SMTP_PORT:-}``: empty means the default."""
    for name in ("SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "CRM_METRICS_TOKEN"):
        monkeypatch.setenv(name, "")
    settings = Settings()
    assert (settings.smtp_port, settings.smtp_username, settings.smtp_password,
            settings.metrics_token) == (None, None, None, None)
    monkeypatch.setenv("SMTP_USERNAME", "relay-user")  # a password is still required with it
    with pytest.raises(ValidationError, match="SMTP_USERNAME and SMTP_PASSWORD"):
        Settings()


def test_page_sizes_must_be_consistent() -> None:
    with pytest.raises(ValidationError, match="DEFAULT_PAGE_SIZE"):
        Settings(default_page_size=200, max_page_size=100)


def test_rate_limit_budgets_are_shared_in_postgresql_unless_redis_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert (Settings().redis_url, Settings().rate_limit_shared) == (None, True)
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6379/2")
    assert Settings().redis_url == "redis://cache.example:6379/2"
    monkeypatch.setenv("REDIS_URL", "http://cache.example")
    with pytest.raises(ValidationError, match="REDIS_URL"):
        Settings()
