"""Settings, read once from the environment (prefix ``CRM_``, plus ``DATABASE_URL``)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# refused in production; long enough that signing with it raises no key-length warning
DEFAULT_SECRET = "development-only-insecure-secret-change-me"  # noqa: S105
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


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
    # while the database is down, requests fail after this (503) instead of waiting on it
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)

    secret_key: str = DEFAULT_SECRET
    access_token_ttl_seconds: int = Field(default=900, ge=60)
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=300)

    max_page_size: int = Field(default=100, ge=1)
    default_page_size: int = Field(default=20, ge=1)
    max_request_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    query_cache_size: int = Field(default=1000, ge=1)
    # how long a user's active flag and role, once read, are trusted (0: read on every request)
    viewer_cache_seconds: float = Field(default=2.0, ge=0, le=60)
    # serve repeated queries from compiled plans (compiled/); false: always the generic executor
    compiled_queries: bool = True
    # also run the generic executor for every compiled answer and report any difference
    # (the test suite turns this on, so every query a test sends is a differential test)
    compiled_verify: bool = False
    log_level: str = "INFO"
    # json: one JSON object per line; human: text; auto: human on a terminal, json otherwise
    log_format: Literal["auto", "human", "json"] = "auto"
    # observability (issue 17): /metrics needs ``Authorization: Bearer <token>`` when set, else
    # it answers loopback clients only; several server processes share samples in a folder
    metrics_token: str | None = None
    prometheus_multiproc_dir: Path | None = Field(
        default=None, validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR"),
    )
    # traces go to this OTLP/HTTP collector (the standard OTEL_* variables tune the exporter)
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"
        ),
    )
    otel_service_name: str = Field(
        default="crm", validation_alias=AliasChoices("OTEL_SERVICE_NAME", "CRM_OTEL_SERVICE_NAME"),
    )
    # heavy reads (exports, analytics, training history) go here when set: a read replica
    database_replica_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_REPLICA_URL", "CRM_DATABASE_REPLICA_URL"),
    )
    # after SIGTERM: how long in-flight requests and deliveries may take to finish
    shutdown_timeout_seconds: float = Field(default=20.0, gt=0)

    # live subscriptions (issue 4): events a subscriber may fall behind, event log retention
    subscription_queue_size: int = Field(default=1000, ge=1)
    event_retention_seconds: int = Field(default=86_400, ge=60)

    # customer email (issue 3): SMTP delivery, links in messages, inbound mail, the outbox worker
    smtp_host: str = Field(
        default="localhost", validation_alias=AliasChoices("SMTP_HOST", "CRM_SMTP_HOST")
    )
    smtp_port: int | None = Field(
        default=None, ge=1, le=65535, validation_alias=AliasChoices("SMTP_PORT", "CRM_SMTP_PORT")
    )
    smtp_tls: Literal["none", "starttls", "implicit"] = Field(
        default="starttls", validation_alias=AliasChoices("SMTP_TLS", "CRM_SMTP_TLS")
    )
    smtp_username: str | None = Field(
        default=None, validation_alias=AliasChoices("SMTP_USERNAME", "CRM_SMTP_USERNAME")
    )
    smtp_password: str | None = Field(
        default=None, validation_alias=AliasChoices("SMTP_PASSWORD", "CRM_SMTP_PASSWORD")
    )
    smtp_from: str = Field(
        default="CRM <noreply@localhost>",
        validation_alias=AliasChoices("SMTP_FROM", "CRM_SMTP_FROM"),
    )
    smtp_timeout_seconds: float = Field(
        default=30.0, gt=0,
        validation_alias=AliasChoices("SMTP_TIMEOUT", "CRM_SMTP_TIMEOUT_SECONDS"),
    )
    public_base_url: str = "http://127.0.0.1:8000"
    inbound_email_secret: str | None = None
    email_max_message_bytes: int = Field(default=2 * 1024 * 1024, ge=10_000)
    email_rate_per_second: float = Field(default=20.0, gt=0)
    email_rate_burst: int = Field(default=100, ge=1)
    # a claimed email's lease; its worker renews it every third of it while alive, so a killed
    # worker's emails are due again within this (services/email/outbox_lease.py)
    email_lease_seconds: float = Field(default=15.0, ge=0.3)
    email_max_attempts: int = Field(default=8, ge=1)
    email_retry_base_seconds: float = Field(default=30.0, gt=0)
    email_retry_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    email_worker_in_process: bool = False
    # development: catch outgoing email on this local port into <data_dir>/mailbox, readable at
    # /dev/mailbox (crm serve turns it on for the embedded demo when no SMTP server is set)
    dev_mailbox_port: int | None = Field(default=None, ge=1, le=65535)
    # "email password" filled into GraphiQL's welcome text (crm serve sets the demo account's)
    graphiql_login: str | None = None
    email_worker_concurrency: int = Field(default=2, ge=1, le=64)
    email_batch_size: int = Field(default=20, ge=1, le=1000)
    email_poll_seconds: float = Field(default=2.0, gt=0)
    campaign_batch_size: int = Field(default=500, ge=1, le=10_000)

    # messaging channels (issue 19): the outbox of SMS, WhatsApp, call, chat and social messages
    channel_worker_in_process: bool = False
    channel_worker_concurrency: int = Field(default=4, ge=1, le=64)
    channel_batch_size: int = Field(default=20, ge=1, le=1000)
    channel_poll_seconds: float = Field(default=2.0, gt=0)
    # a claimed message's lease, renewed every third of it while its worker lives
    channel_lease_seconds: float = Field(default=30.0, ge=0.3)
    channel_max_attempts: int = Field(default=6, ge=1)
    channel_retry_base_seconds: float = Field(default=10.0, gt=0)
    channel_retry_max_seconds: float = Field(default=3600.0, gt=0)
    channel_http_timeout_seconds: float = Field(default=10.0, gt=0)
    # the team through the API (issue 16): links sent by email, and task reminders
    invitation_ttl_seconds: int = Field(default=7 * 86_400, ge=60)
    password_reset_ttl_seconds: int = Field(default=3600, ge=60)
    # at most one reset email per address within this (requests in between change nothing)
    password_reset_interval_seconds: float = Field(default=60.0, ge=0)
    # the public signUp mutation (a new organization with its first ADMIN): off unless the
    # operator opens the server to self-service sign-ups; crm orgs create is the other way
    signup_enabled: bool = False
    # the local hour (organization's time zone) from which each user's daily digest is sent
    task_digest_hour: int = Field(default=7, ge=0, le=23)
    # the email worker publishes task reminders and queues digests (false: other workers do)
    task_reminders: bool = True
    # how often the worker looks for tasks that fell due and digests to send
    task_reminder_poll_seconds: float = Field(default=15.0, gt=0)

    # customer analysis and prediction (issue 5): training and scoring in worker processes
    ml_horizon_days: int = Field(default=90, ge=7, le=730)
    ml_workers: int = Field(default=1, ge=1, le=16)
    ml_threads: int = Field(default=1, ge=1, le=64)
    # a training run learns from a fixed sample of this many customers (all of them when
    # fewer) and at most this many example rows; scoring covers everyone, a batch at a time
    ml_max_training_customers: int = Field(default=50_000, ge=1_000)
    ml_max_training_rows: int = Field(default=60_000, ge=1_000)
    ml_rescore_interval_seconds: float = Field(default=600.0, ge=0)  # 0: no background rescoring
    ml_max_score_age_seconds: int = Field(default=86_400, ge=60)
    ml_rescore_batch: int = Field(default=50_000, ge=1)
    # retrain every organization with orders once its last run is this old, and train those
    # that have none soon after start (the demo's predictions within a minute); 0: never
    ml_retrain_interval: timedelta = Field(default=timedelta(days=1), ge=timedelta(0))
    ml_retrain_check_seconds: float = Field(default=30.0, gt=0)

    @field_validator(
        "metrics_token", "otel_exporter_otlp_endpoint", "database_replica_url", "smtp_port",
        "smtp_username", "smtp_password", mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """``VAR=`` (as compose files pass an optional variable) means unset."""
        return None if value == "" else value

    @field_validator("ml_retrain_interval", mode="before")
    @classmethod
    def _seconds_or_duration(cls, value: object) -> object:
        """``86400``, ``P1D`` or ``1 day``: plain numbers are seconds."""
        if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
            return float(value)
        return value

    # abuse resistance (issue 6B): query limits, rate limits, login throttling, HTTP hardening
    query_max_depth: int = Field(default=12, ge=1)
    query_max_aliases: int = Field(default=30, ge=1)
    query_max_tokens: int = Field(default=5000, ge=10)
    query_max_cost: int = Field(default=50_000, ge=1)
    # shared, cost-based rate limits (issue 13): points per window, kept in PostgreSQL or Redis
    rate_limit_points: int = Field(default=2_000, ge=1)  # per user or API key and window
    anonymous_rate_limit_points: int = Field(default=300, ge=1)  # per client IP and window
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=86_400)
    # the most points a process reserves at once (never more than a fiftieth of a budget)
    rate_limit_slice_points: int = Field(default=50, ge=1)
    # false: every process keeps budgets of its own in memory (one process, or tests of two apps)
    rate_limit_shared: bool = True
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "CRM_REDIS_URL")
    )
    rate_limit_max_buckets: int = Field(default=100_000, ge=10)
    login_max_failures: int = Field(default=5, ge=1)  # per email before delays start
    login_ip_max_failures: int = Field(default=100, ge=1)  # per client IP
    login_lockout_base_seconds: float = Field(default=30.0, gt=0)  # doubles per further failure
    login_lockout_max_seconds: float = Field(default=3600.0, gt=0)
    login_failure_window_seconds: int = Field(default=3600, ge=1)  # failures older are forgotten
    cors_allow_origins: list[str] = Field(default_factory=list)  # JSON list in the environment
    trusted_hosts: list[str] = Field(default_factory=lambda: ["*"])
    hsts_max_age_seconds: int = Field(default=31_536_000, ge=0)

    # outbound webhooks (issue 7): SSRF guard, HTTP limits, retries, circuit breaker, retention
    webhook_allow_private: bool = False  # deliver to loopback/private addresses (tests, on-prem)
    webhook_worker_in_process: bool = False
    webhook_concurrency: int = Field(default=8, ge=1, le=256)  # requests in flight per worker
    webhook_poll_seconds: float = Field(default=2.0, gt=0)
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_read_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_total_timeout_seconds: float = Field(default=15.0, gt=0)
    webhook_max_response_bytes: int = Field(default=64 * 1024, ge=0)
    webhook_max_attempts: int = Field(default=10, ge=1)
    webhook_retry_base_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    webhook_retry_after_max_seconds: float = Field(default=3600.0, gt=0)
    webhook_circuit_failures: int = Field(default=5, ge=1)  # consecutive failures to open it
    webhook_circuit_cooldown_seconds: float = Field(default=30.0, gt=0)  # doubles per reopening
    webhook_circuit_max_cooldown_seconds: float = Field(default=3600.0, gt=0)
    webhook_disable_after_failures: int = Field(default=100, ge=1)
    webhook_disable_after_seconds: float = Field(default=3 * 86_400.0, ge=0)  # streak age too
    webhook_event_retention_seconds: int = Field(default=30 * 86_400, ge=3600)
    webhook_secret_overlap_seconds: int = Field(default=86_400, ge=0)  # old secret after rotation

    @model_validator(mode="after")
    def _refuse_unsafe_secret(self) -> Settings:
        if self.env != "development" and (
            self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "CRM_SECRET_KEY must be set to a random value of at least 32 characters "
                f"outside development (CRM_ENV={self.env}); generate one with: python -c "
                "'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if self.metrics_token is not None and len(self.metrics_token) < 16:
            raise ValueError("CRM_METRICS_TOKEN must have at least 16 characters")
        if self.default_page_size > self.max_page_size:
            raise ValueError("CRM_DEFAULT_PAGE_SIZE must not exceed CRM_MAX_PAGE_SIZE")
        if self.login_lockout_base_seconds > self.login_lockout_max_seconds:
            raise ValueError(
                "CRM_LOGIN_LOCKOUT_BASE_SECONDS must not exceed CRM_LOGIN_LOCKOUT_MAX_SECONDS"
            )
        if not self.trusted_hosts:
            raise ValueError('CRM_TRUSTED_HOSTS must list hosts (["*"] for any)')
        _check_email_settings(self)
        if self.redis_url is not None and not self.redis_url.startswith(REDIS_SCHEMES):
            raise ValueError("REDIS_URL must be a redis://, rediss:// or unix:// URL")
        if self.webhook_lease_seconds <= self.webhook_total_timeout_seconds:
            raise ValueError(
                "CRM_WEBHOOK_LEASE_SECONDS must exceed CRM_WEBHOOK_TOTAL_TIMEOUT_SECONDS"
            )
        return self


def _check_email_settings(settings: Settings) -> None:
    """Refuse email settings that cannot work (caught at startup, not at the first send)."""
    from email.headerregistry import Address
    from email.utils import parseaddr
    from urllib.parse import urlparse

    if (settings.smtp_username is None) != (settings.smtp_password is None):
        raise ValueError("SMTP_USERNAME and SMTP_PASSWORD must be set together")
    _, address = parseaddr(settings.smtp_from)
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        address = ""
    if "@" not in address:
        raise ValueError("SMTP_FROM must be an address like 'Shop <shop@example.com>'")
    url = urlparse(settings.public_base_url)
    if url.scheme not in {"http", "https"} or not url.netloc or url.query or url.fragment:
        raise ValueError("CRM_PUBLIC_BASE_URL must be an http(s) URL such as https://crm.example.com")
    secret = settings.inbound_email_secret
    if secret is not None and len(secret) < 16:
        raise ValueError("CRM_INBOUND_EMAIL_SECRET must have at least 16 characters")
    if settings.email_retry_base_seconds > settings.email_retry_max_seconds:
        raise ValueError("CRM_EMAIL_RETRY_BASE_SECONDS must not exceed CRM_EMAIL_RETRY_MAX_SECONDS")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
