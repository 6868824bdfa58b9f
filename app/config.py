"""Settings, read once from the environment (prefix ``CRM_``, plus ``DATABASE_URL``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 (refused outside development)


class Settings(BaseSettings):
    """Everything the app can be configured with."""

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CRM_DATABASE_URL")
    )
    data_dir: Path = Path(".crm")
    db_pool_min: int = Field(default=1, ge=1)
    db_pool_max: int = Field(default=10, ge=1)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0)

    secret_key: str = DEFAULT_SECRET
    access_token_ttl_seconds: int = Field(default=3600, ge=60)

    max_page_size: int = Field(default=100, ge=1)
    default_page_size: int = Field(default=20, ge=1)
    max_request_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    query_cache_size: int = Field(default=1000, ge=1)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_unsafe_secret(self) -> Settings:
        if self.env == "production" and (
            self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "CRM_SECRET_KEY must be set to a random value of at least 32 characters "
                "when CRM_ENV=production"
            )
        if self.default_page_size > self.max_page_size:
            raise ValueError("CRM_DEFAULT_PAGE_SIZE must not exceed CRM_MAX_PAGE_SIZE")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
