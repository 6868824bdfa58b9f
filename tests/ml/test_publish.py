"""Scores shaped for writing: scoring a batch at a time gives what one pass gives."""

from __future__ import annotations

import pytest

from ml import publish
from ml.features import from_day
from ml.training import train_all
from tests.ml.simulate import simulate

END = 20_000.0


def test_scoring_in_batches_matches_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    history = simulate(800, end_day=END, seed=4).history
    models = publish.scoring_models(train_all(history, END, 90.0), {}, [])
    assert publish.has_scoring_model(models)
    whole = publish.score_rows(history, from_day(END), models)
    monkeypatch.setattr(publish, "SCORE_BATCH", 97)
    batched = publish.score_rows(history, from_day(END), models)
    assert batched == whole
    assert len(whole.customer_ids) > 97
