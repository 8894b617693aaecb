"""Heads that can answer: a regression head (one real output, rounded to the nearest class) predicts an
integer it never saw in training; a softmax head over the same classes cannot (issue 19, item 6)."""

import numpy as np
import pytest

from tnn.models import ModelConfig, make_model
from tnn.train import TrainConfig, fit, metrics_from_outputs, predict


def _toy(rng, n, pairs):
    """Inputs of 6 features: two indicator bits and four noise features; the label counts the bits
    (an integer that is linear in the input: a model that learned it extrapolates)."""
    idx = rng.integers(0, len(pairs), n)
    bits = np.asarray(pairs, float)[idx]
    x = np.concatenate([bits, 0.1 * rng.standard_normal((n, 4))], axis=1)
    return x, bits.sum(axis=1)  # already encoded: the MLP reads it as it is


@pytest.mark.parametrize("depth", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_regression_head_predicts_an_unseen_integer_and_the_softmax_head_cannot(depth):
    rng = np.random.default_rng(0)
    xtr, ytr = _toy(rng, 256, [(0, 0), (1, 0), (0, 1)])  # labels 0 and 1 only
    xte, yte = _toy(rng, 64, [(1, 1)])  # label 2: never seen
    classes = (0, 1, 2)
    tc = TrainConfig(seeds=(0,), epochs=60, batch_size=32, learning_rate=3e-2, val_fraction=0.0, eval_train=False)
    accs = {}
    for task in ("regress", "classify"):
        cfg = ModelConfig("mlp", task=task, classes=classes, width=16, depth=depth, dtype="float32", encoding="flat")
        model = make_model(cfg)
        res = fit(model, tc, (xtr, ytr), (xte, yte))
        out = predict(model, res.member(0), xte)
        accs[task] = metrics_from_outputs(cfg, out, yte)["acc"]
    assert accs["regress"] >= 0.95, accs
    assert accs["classify"] <= 0.05, accs
