"""Artifacts round-trip through bytes, and a damaged artifact is refused before loading."""

from __future__ import annotations

import pytest
from sklearn.linear_model import LinearRegression

from ml import registry


def test_round_trip_keeps_the_model() -> None:
    model = LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
    blob, checksum = registry.dump(model)
    assert len(checksum) == 64
    loaded = registry.load(blob, checksum)
    assert loaded.predict([[3.0]])[0] == pytest.approx(7.0)


def test_checksum_mismatch_is_refused() -> None:
    blob, checksum = registry.dump({"weights": [1, 2, 3]})
    damaged = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(registry.ChecksumMismatch):
        registry.load(damaged, checksum)
    with pytest.raises(registry.ChecksumMismatch):
        registry.load(blob, "0" * 64)
