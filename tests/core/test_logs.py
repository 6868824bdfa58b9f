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


def json_line(record: logging.LogRecord) -> dict:
    import orjson

    from core.logs import JsonFormatter

    text = JsonFormatter().format(record)
    assert "\n" not in text  # one object per line, tracebacks included
    return orjson.loads(text)


def test_json_lines_redact_messages_and_tracebacks() -> None:
    try:
        raise ValueError("550 5.1.1 <zhang.san@example.cn>: no such user")
    except ValueError:
        record = logging.LogRecord("crm.email", logging.ERROR, __file__, 1, "send to %s failed",
                                   ("+4930123456",), sys.exc_info())
    line = json_line(record)
    assert line["level"] == "ERROR"
    assert line["logger"] == "crm.email"
    assert line["message"] == "send to <phone> failed"
    assert "zhang.san" not in line["exception"]
    assert line["time"].endswith("+00:00")


def test_json_lines_carry_the_request_they_belong_to() -> None:
    from core import metrics

    observation = metrics.Observation("req42", organization_id=7, user_id=3, operation="Light")
    token = metrics.current.set(observation)
    try:
        record = logging.LogRecord("crm.access", logging.INFO, __file__, 1, "done", (), None)
        record.duration_ms = 1.5
        line = json_line(record)
    finally:
        metrics.current.reset(token)
    assert line["request_id"] == "req42"
    assert (line["organization_id"], line["user_id"], line["operation"]) == (7, 3, "Light")
    assert line["duration_ms"] == 1.5
    assert "api_key_id" not in line


def test_uvicorn_lines_use_the_same_json_format() -> None:
    import subprocess
    from pathlib import Path

    import orjson

    script = ("import logging, logging.config; from core import logs; "
              "logging.config.dictConfig(logs.uvicorn_config('INFO', 'json')); "
              "logging.getLogger('uvicorn.error').info('Started server process'); "
              "logging.getLogger('tortoise').info('Tortoise-ORM shutdown')")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).resolve().parents[2], timeout=60)
    (line,) = result.stderr.splitlines()  # tortoise's chatter stays out
    record = orjson.loads(line)
    assert (record["logger"], record["message"]) == ("uvicorn.error", "Started server process")
