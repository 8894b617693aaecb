"""SVD pruning run on a trained model: :func:`accuracy_vs_rank` (the model evaluated at each rank of
:func:`tnn.prune.svd_prune`) and :func:`write_pruning` (JSON and figure). Moved from ``tnn.prune``
(issue 21: ``tnn.prune`` itself transforms parameters and never runs a model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tnn import _checks
from tnn import results as tres
from tnn.prune import matrix_ranks, smallest_rank, svd_prune
from tnn.results import pyplot, save_figure
from tnn.train import evaluate

__all__ = ["accuracy_vs_rank", "write_pruning"]


def accuracy_vs_rank(model, params, data, ranks: Sequence[int] | None = None, *, progress: bool = False) -> dict[str, Any]:
    """Accuracy of ``model`` with ``svd_prune(params, k)`` for each ``k`` of ``ranks``.

    Args:
      model: a :class:`tnn.models.Model`; params: one member.
      data: ``(x, y)`` features and invariant values (:func:`tnn.train.evaluate`).
      ranks: ranks to try (default ``1 .. max rank``).

    Returns:
      dict: ``ranks`` ``(R,)``, ``acc`` ``(R,)``, ``loss`` ``(R,)``, ``full_acc``, ``full_loss``,
      ``max_rank``, ``smallest_rank_95`` (:func:`tnn.prune.smallest_rank`).
    """
    from tqdm.auto import tqdm

    max_rank = max(matrix_ranks(params).values(), default=0)
    if ranks is None:
        ranks = list(range(1, max_rank + 1))
    ranks = [_checks.check_int("rank", r, 1) for r in ranks]
    full = evaluate(model, params, data)
    acc, loss = [], []
    for k in tqdm(ranks, desc=f"prune {model.name}", disable=not progress):
        m = evaluate(model, svd_prune(params, k), data)
        acc.append(m["acc"])
        loss.append(m["loss"])
    acc_a = np.asarray(acc)
    return {"ranks": np.asarray(ranks), "acc": acc_a, "loss": np.asarray(loss), "full_acc": full["acc"],
            "full_loss": full["loss"], "max_rank": max_rank,
            "smallest_rank_95": smallest_rank(ranks, acc_a, full["acc"], 0.95)}


def write_pruning(curves: dict[str, dict], sites: dict[str, dict], folder: str | Path, name: str = "pruning") -> dict[str, Path]:
    """Write ``<folder>/<name>.json`` and ``<folder>/<name>.png``: accuracy against rank per model
    (``curves``: model -> :func:`accuracy_vs_rank`) and the first-layer cell weights
    (``sites``: model -> :func:`tnn.prune.input_site_weights`)."""
    plt = pyplot()
    folder = Path(folder)
    jpath = tres.write_json(folder / f"{name}.json", {"accuracy_vs_rank": curves, "input_site_weights": sites})
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    for m, c in curves.items():
        ax[0].plot(c["ranks"], c["acc"], "o-", ms=3, label=f"{m} (k95 = {c['smallest_rank_95']})")
        ax[0].axhline(c["full_acc"], ls=":", lw=0.8, color=ax[0].lines[-1].get_color())
    ax[0].set_xlabel("rank k")
    ax[0].set_ylabel("accuracy")
    ax[0].set_xscale("log")
    ax[0].legend(fontsize=7)
    for m, s in sites.items():
        if "cell_weights" in s:
            ax[1].plot(s["cell_weights"], "o-", ms=3, label=f"{m} (edge {s.get('edge_fraction', float('nan')):.2f})")
        elif "offset_weights" in s:
            ax[1].plot(s["offset_weights"], "s--", ms=3, label=f"{m} (per kernel offset)")
    ax[1].set_xlabel("cell / kernel offset")
    ax[1].set_ylabel("top singular direction weight")
    if ax[1].lines:
        ax[1].legend(fontsize=7)
    fig.tight_layout()
    return {"json": jpath, "figure": save_figure(fig, folder / f"{name}.png")}
