r"""The fixed-width probe run of one trained member (:func:`run_probes`) and its report files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from tnn.study.probes.common import check_chain
from tnn.study.probes.saliency import params_fit, saliency
from tnn.study.probes.sets import cut_edges, mask_edges, periodic_versions, proxy_disagreeing

__all__ = ["run_probes", "write_probes"]


def run_probes(model_config, params, test: Mapping[str, Any], *, edge_cells: int = 1, mu: float = 1.0,
               saliency_samples: int = 128, progress: bool = False) -> dict[str, Any]:
    """Accuracy of one member on the probe sets built from an open SSH test set.

    Args:
      model_config: the model's :class:`tnn.models.ModelConfig` (models are rebuilt per lattice).
      params: one member's parameters.
      test: ``{"x": features (hamiltonian, energies, wavefunctions), "y": labels, "t": hoppings
        (B, R), "ranges": ranges, "lat": open chain}``.

    Returns:
      dict: ``acc`` (probe -> accuracy or None where the model cannot read that lattice: the MLP on
      cut chains), ``n`` (probe -> samples), ``dropped``, ``saliency`` (:func:`saliency` on the
      first ``saliency_samples`` test samples) and the edge-potential set's zero-mode counts.
    """
    from tqdm.auto import tqdm

    from tnn.models import make_model
    from tnn.train import evaluate

    lat = check_chain(test["lat"], "test")
    classes = model_config.classes
    sets = {"test": {"x": test["x"], "y": np.asarray(test["y"]), "lat": lat, "dropped": 0}}
    sets["edge_masked"] = {"x": mask_edges(test["x"], lat, edge_cells), "y": np.asarray(test["y"]), "lat": lat, "dropped": 0}
    sets["edge_cut"] = cut_edges(test["x"], test["y"], lat, edge_cells, classes)
    sets["periodic"] = periodic_versions(test["t"], lat.n_cells, test["ranges"], classes)
    sets["edge_potential"] = proxy_disagreeing(test["t"], lat.n_cells, test["ranges"], classes, mu, edge_cells)
    out: dict[str, Any] = {"acc": {}, "n": {}, "dropped": {}, "edge_cells": edge_cells, "mu": mu}
    base = make_model(model_config, lat)
    for name, s in tqdm(sets.items(), desc=f"probes {model_config.name}", disable=not progress):
        out["n"][name] = int(len(s["y"]))
        out["dropped"][name] = s["dropped"]
        m = base if s["lat"] == lat else make_model(model_config, s["lat"])
        if len(s["y"]) == 0:
            out["acc"][name] = None
            continue
        if m is not base and not params_fit(m, params, s["x"]):  # MLP on a cut chain: other input size
            out["acc"][name] = None
            continue
        out["acc"][name] = evaluate(m, params, (s["x"], s["y"]))["acc"]
    ep = sets["edge_potential"]
    out["zero_modes_before"] = float(np.mean(ep["zero_modes_before"]))
    out["zero_modes_after"] = float(np.mean(ep["zero_modes_after"]))
    k = min(saliency_samples, len(test["y"]))
    sx = {f: np.asarray(v)[:k] for f, v in test["x"].items()}
    out["saliency"] = saliency(base, params, sx, np.asarray(test["y"])[:k])
    return out


def write_probes(results: Mapping[str, dict], folder: str | Path, name: str = "probes") -> dict[str, Path]:
    """Write ``<folder>/<name>.json`` and ``<folder>/<name>.png`` (accuracy per probe and model;
    saliency per cell and class) for ``results``: model -> :func:`run_probes`."""
    from tnn import results as tres
    from tnn.results import pyplot, save_figure

    plt = pyplot()
    folder = Path(folder)
    jpath = tres.write_json(folder / f"{name}.json", dict(results))
    models = list(results)
    probes = list(next(iter(results.values()))["acc"]) if results else []
    fig, ax = plt.subplots(1, 1 + len(models), figsize=(5 + 3.5 * len(models), 3.6))
    ax = np.atleast_1d(ax)
    width = 0.8 / max(1, len(models))
    for i, m in enumerate(models):
        accs = [np.nan if results[m]["acc"][p] is None else results[m]["acc"][p] for p in probes]
        ax[0].bar(np.arange(len(probes)) + i * width, accs, width, label=m)
    ax[0].set_xticks(np.arange(len(probes)) + 0.4 - width / 2, probes, rotation=30, fontsize=7)
    ax[0].set_ylabel("accuracy")
    ax[0].legend(fontsize=7)
    for i, m in enumerate(models):
        s = results[m]["saliency"]
        for c, row in zip(s["classes"], np.asarray(s["saliency"], dtype=float)):
            ax[1 + i].plot(row, "o-", ms=2, label=f"W = {c}")
        ax[1 + i].set_title(m, fontsize=8)
        ax[1 + i].set_xlabel("cell")
        ax[1 + i].legend(fontsize=6)
    ax[1].set_ylabel("saliency (per-sample normalized)")
    fig.tight_layout()
    return {"json": jpath, "figure": save_figure(fig, folder / f"{name}.png")}
