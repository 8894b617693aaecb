"""The study's numbers with their uncertainty: accuracies of ensembles with 95% intervals, balanced
accuracy, paired differences between models on the same samples (:mod:`tnn.intervals`).

Every run stores the predicted class of every test sample for every seed (``runs/<tag>/preds.npz``,
``"<stage>/<split>"`` -> ``(seeds, n)`` int8, ``"y/<split>"`` -> ``(n,)`` the labels); everything
here is computed from those arrays, so an interval always refers to the exact samples scored.
"""

from __future__ import annotations

import math

import numpy as np

from tnn import intervals as iv

__all__ = ["correct", "accuracy", "difference", "fmt_ci", "ci_cell", "labels"]


def labels(summary, tag: str, split: str):
    """The labels ``(n,)`` run ``tag`` was scored against on ``split`` (None if it was not)."""
    p = summary.get("preds", {}).get(tag, {})
    return p.get(f"y/{split}")


def correct(summary, tag: str, split: str, stage: str = "trained"):
    """0/1 ``(seeds, n)``: which samples each seed of run ``tag`` classified right on ``split``;
    None when the run was not scored there (n/a) or has no sample."""
    p = summary.get("preds", {}).get(tag, {})
    pred, y = p.get(f"{stage}/{split}"), p.get(f"y/{split}")
    if pred is None or y is None or np.size(y) == 0:
        return None
    return np.asarray(pred) == np.asarray(y)[None, :]


def accuracy(summary, tag: str, split: str, stage: str = "trained") -> dict | None:
    """``{"mean", "lo", "hi", "n", "seeds", "bal", "per_seed"}`` of run ``tag`` on ``split``: the
    ensemble's mean accuracy with its 95% interval (:func:`tnn.intervals.ensemble_interval`),
    the balanced accuracy (mean over seeds) and each seed's accuracy; None when n/a."""
    c = correct(summary, tag, split, stage)
    if c is None:
        return None
    r = iv.ensemble_interval(c)
    p = summary["preds"][tag]
    y = p[f"y/{split}"]
    r["bal"] = float(np.mean([iv.balanced_accuracy(y, q) for q in p[f"{stage}/{split}"]]))
    r["per_seed"] = c.mean(axis=1).tolist()
    return r


def difference(summary, tag_a: str, tag_b: str, split: str, stage_a: str = "trained", stage_b: str = "trained"):
    """``mean(a) - mean(b)`` of two runs on the same samples of ``split`` with its paired 95% interval
    (:func:`tnn.intervals.difference_interval`); None when either is n/a or the labels differ."""
    a, b = correct(summary, tag_a, split, stage_a), correct(summary, tag_b, split, stage_b)
    ya, yb = labels(summary, tag_a, split), labels(summary, tag_b, split)
    if a is None or b is None or ya.shape != yb.shape or not np.array_equal(ya, yb):
        return None
    return iv.difference_interval(a, b)


def fmt_ci(r, digits: int = 3) -> str:
    """``mean [lo, hi]`` of an interval dict (``n/a`` for None)."""
    if r is None:
        return "n/a"
    m = r.get("mean", r.get("diff"))
    if m is None or math.isnan(m):
        return "--"
    return f"{m:.{digits}f} [{r['lo']:.{digits}f}, {r['hi']:.{digits}f}]"


def ci_cell(summary, tag: str, split: str, stage: str = "trained") -> str:
    """A table cell: accuracy ``mean [lo, hi]`` and the balanced accuracy, or ``n/a``."""
    r = accuracy(summary, tag, split, stage)
    if r is None:
        return "n/a"
    return f"{fmt_ci(r)} (bal {r['bal']:.3f})"
