"""Logs keep personal data out."""

from __future__ import annotations

import logging
import sys

from core.logs import RedactingFormatter, redact


def test_redact_replaces_addresses_and_numbers() -> None:
    text = 'duplicate key (1, jane.doe+crm@example.co.uk) for "+4930123456"; order 12345678'
    assert redact(text) == 'duplicate key (1, <email>) for "<phone>"; order 12345678'


def test_formatter_redacts_tracebacks_too() -> None:
    try:
        raise ValueError("550 5.1.1 <zhang.san@example.cn>: no such user")
    except ValueError:
        record = logging.LogRecord("crm", logging.ERROR, __file__, 1, "send to %s failed",
                                   ("zhang.san@example.cn",), sys.exc_info())
    text = RedactingFormatter("%(message)s").format(record)
    assert "zhang.san" not in text
    assert text.startswith("send to <email> failed\nTraceback")
    assert text.endswith("ValueError: 550 5.1.1 <<email>>: no such user")
