r"""Per-cell saliency of a trained network, and whether its parameters fit a lattice.

Site ``2n`` is ``A_n``, ``2n + 1`` is ``B_n`` (docs/conventions.md).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import jax
import jax.numpy as jnp

from tnn.study.probes.common import check_chain

__all__ = ["saliency", "params_fit"]


def _site_axes(name: str):
    return {"hamiltonian": (0, 1), "wavefunctions": (0,), "density": (0,)}.get(name, ())


def saliency(model, params, features: Mapping[str, Any], y, batch_size: int = 64) -> dict[str, Any]:
    r"""Per-cell saliency ``|d logit_{true class} / d input|``, averaged per class.

    The gradient is taken with respect to the raw features (through ``model.prepare``); for each
    feature with site axes (``hamiltonian``: both axes, ``wavefunctions``: rows) the absolute
    gradient is summed onto the sites (a matrix entry ``(i, j)`` half to ``i``, half to ``j``), then
    onto cells, and normalized to sum 1 per sample. Classification models only.

    Returns: ``classes``, ``saliency`` ``(n_classes, n_cells)`` (NaN rows for absent classes),
    ``edge_fraction`` ``(n_classes,)`` (weight on the first and last cell), ``counts``.
    """
    from tnn.train import encode_labels

    if model.config.task != "classify":
        raise ValueError("Argument `model` must be a classifier (task='classify') for saliency.")
    lat = check_chain(model.lattice, "model")
    names = [k for k in features if _site_axes(k)]
    if not names:
        raise ValueError(f"Argument `features` has no per-site feature (has {sorted(features)}).")
    idx = np.asarray(encode_labels(model.config, np.asarray(y)))
    N = lat.n_sites

    def logit(feat_one, c):
        out = model.apply(params, model.prepare(jax.tree_util.tree_map(lambda a: a[None], feat_one)))
        return out[0, c]

    grad = jax.jit(jax.vmap(jax.grad(logit), in_axes=(0, 0)))
    feats = {k: np.asarray(v) for k, v in features.items() if k in names or k == "energies"}
    n = len(idx)
    per = np.zeros((n, N))
    for s in range(0, n, batch_size):
        sl = slice(s, min(n, s + batch_size))
        g = grad({k: jnp.asarray(v[sl]) for k, v in feats.items()}, jnp.asarray(idx[sl]))
        for k in names:
            a = np.abs(np.asarray(g[k]))
            if _site_axes(k) == (0, 1):
                per[sl] += 0.5 * (a.sum(axis=2) + a.sum(axis=1))
            else:
                per[sl] += a.sum(axis=2)
    cell = per.reshape(n, lat.n_cells, lat.n_orb).sum(axis=2)
    cell = cell / np.maximum(cell.sum(axis=1, keepdims=True), np.finfo(float).tiny)
    classes = list(model.config.classes)
    sal = np.full((len(classes), lat.n_cells), np.nan)
    counts = np.zeros(len(classes), int)
    for c in range(len(classes)):
        m = idx == c
        counts[c] = int(m.sum())
        if m.any():
            sal[c] = cell[m].mean(axis=0)
    edge = sal[:, [0, -1]].sum(axis=1)
    return {"classes": classes, "saliency": sal, "edge_fraction": edge, "counts": counts,
            "edge_share": 2 / lat.n_cells}


def params_fit(model, params, x) -> bool:
    """Whether ``params`` have the shapes ``model`` expects on input ``x`` (features, leading sample
    axis, or the model's encoded input): size-agnostic models fit every chain length, the MLP (fixed
    input size) only its own."""
    x1 = jax.tree_util.tree_map(lambda a: np.asarray(a)[:1], dict(x) if isinstance(x, Mapping) else x)
    x1 = model.prepare(x1)
    try:  # shapes only: no compilation of the init on this input
        want = jax.eval_shape(model.init, jax.random.key(0), x1)
    except jax.errors.JAXTypeError:  # an eager init (topo draws its numbers in NumPy): cheap to run
        want = model.init(jax.random.key(0), x1)
    return jax.tree_util.tree_structure(want) == jax.tree_util.tree_structure(params) and all(
        np.shape(w) == np.shape(p) for w, p in zip(jax.tree_util.tree_leaves(want), jax.tree_util.tree_leaves(params)))
