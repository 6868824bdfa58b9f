"""Counting the SQL statements the app sends (Tortoise logs each one at DEBUG)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(("Created connection pool", "Closed connection pool")):
            return
        if "INTO rate_limit " in message or "FROM rate_limit " in message:
            return  # a process reserves rate limit budgets per slice, not per request
        self.statements.append(message)


@contextmanager
def count_statements() -> Iterator[list[str]]:
    """Collects the SQL sent to PostgreSQL inside the block.

    Cached viewers are forgotten first, so a request's count always includes its token check.
    """
    from auth.identity import forget_viewers

    forget_viewers()
    logger = logging.getLogger("tortoise.db_client")
    counter = _Counter()
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter.statements
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
