"""Model artifacts as bytes with a SHA-256 checksum that is verified before anything is loaded.

Artifacts are pickles (joblib, compressed): they must only ever come from this database, which
the checksum cannot vouch for; it catches corruption and truncation, not tampering.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import joblib


class ChecksumMismatch(Exception):
    """The stored artifact does not match its checksum; it is not loaded."""


def checksum(blob: bytes) -> str:
    """The hex SHA-256 of ``blob``."""
    return hashlib.sha256(blob).hexdigest()


def dump(artifact: Any) -> tuple[bytes, str]:
    """The artifact serialized, with its checksum."""
    buffer = io.BytesIO()
    joblib.dump(artifact, buffer, compress=3)
    blob = buffer.getvalue()
    return blob, checksum(blob)


def load(blob: bytes, expected: str) -> Any:
    """The artifact in ``blob``, after checking it against ``expected``."""
    actual = checksum(blob)
    if actual != expected:
        raise ChecksumMismatch(f"artifact checksum {actual[:12]}… does not match {expected[:12]}…")
    return joblib.load(io.BytesIO(blob))
