"""Yes/no models are calibrated: on a rare outcome the probabilities they say are the rates
that happen, not the booster's overconfident ones."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml import score_model
from ml.score_features import ScoreExamples


def _rare(n: int, seed: int) -> ScoreExamples:
    # about 4 % have the outcome; two features carry it, three are noise
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    p = 1 / (1 + np.exp(-(-4.0 + 1.2 * X[:, 0] + 0.8 * X[:, 1])))
    return ScoreExamples(("a", "b", "c", "d", "e"), X, (rng.random(n) < p).astype(float))


def test_a_rare_outcome_gets_probabilities_that_match_what_happens() -> None:
    train, held = _rare(2_000, 1), _rare(20_000, 2)
    model = score_model._fit(train, 0)
    p = model.predict_proba(held.X)[:, 1]
    raw = score_model.booster(0).fit(train.X, train.y.astype(int))
    q = raw.predict_proba(held.X)[:, 1]
    base = float(np.mean((held.y - held.y.mean()) ** 2))
    assert brier_score_loss(held.y, p) < base * 0.97  # beats the base rate by 3 %+
    assert brier_score_loss(held.y, p) < brier_score_loss(held.y, q)  # and the raw booster
    assert roc_auc_score(held.y, p) > 0.8
    # the top decile: what the model says there is what happens there, within a fifth
    top = p >= np.quantile(p, 0.9)
    assert abs(p[top].mean() - held.y[top].mean()) < 0.2 * held.y[top].mean()
