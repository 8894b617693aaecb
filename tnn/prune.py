r"""SVD pruning: how many directions does a trained network use, and which input sites do they weigh?

:func:`svd_prune` replaces weight matrices by their best rank-``k`` approximations (Eckart--Young:
``W_k = U_k S_k V_k^T``, the ``k`` largest singular values). Which leaves are matrices:

* a Flax ``kernel`` leaf (Dense ``(in, out)``, Conv ``(*window, in, out)``) is the matrix
  ``(prod(shape[:-1]), out)``: a convolution kernel is flattened over its window and input
  channels, the usual im2col view in which a convolution is a matrix product;
* any other leaf with ``ndim == 2`` is a matrix as it is;
* any other leaf with ``ndim > 2`` (topo's per-channel stacks ``(K, d_in, width)``, mixing
  ``(K, 2, n_orb)``) is a stack of matrices over its leading axes, each truncated on its own;
* leaves with ``ndim <= 1`` (biases, scalars) are left alone.

A matrix whose smaller side is ``<= rank`` is returned unchanged (the same array), so pruning at
full rank is the identity.

:func:`smallest_rank` gives the smallest rank keeping a fraction (95%) of the full accuracy, and
:func:`input_site_weights` the weight that the top singular directions of the first layer put on
each input cell -- for the MLP, whose first layer sees every site separately: are they the edge
cells? (Convolutions share weights over cells, so there the question is answered by the saliency
of :mod:`tnn.study.probes`; for them the weights are returned per kernel offset.)

Evaluating a model pruned at each rank (:func:`~tnn.study.pruning.accuracy_vs_rank`, through
:func:`tnn.train.evaluate`) and writing the curves (:func:`~tnn.study.pruning.write_pruning`) moved to
:mod:`tnn.study.pruning` (issue 21: they run a model and write files); the old names here still work
for one version, with a ``DeprecationWarning``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks
from tnn._moved import moved_names

__all__ = ["svd_prune", "matrix_ranks", "smallest_rank", "input_site_weights"]

__getattr__ = moved_names(__name__, dict.fromkeys(("accuracy_vs_rank", "write_pruning"), "tnn.study.pruning"))


@jax.jit
def _truncate(w, k):
    """Best rank-``k`` approximation of the matrix ``w`` ``(..., m, n)`` (batched over ``...``). ``k``
    is traced (the singular values past it set to zero): one compilation per shape, not per rank."""
    U, S, Vt = jnp.linalg.svd(w, full_matrices=False)
    S = jnp.where(jnp.arange(S.shape[-1]) < k, S, jnp.zeros((), S.dtype))
    return jnp.einsum("...ik,...k,...kj->...ij", U, S, Vt)


def _matrix_view(path, a):
    """``(shape as matrices, is_kernel)`` of a leaf, or None if it is not pruned."""
    name = str(getattr(path[-1], "key", path[-1])) if path else ""
    if a.ndim < 2:
        return None
    if name == "kernel":
        return (int(np.prod(a.shape[:-1])), a.shape[-1]), True
    return a.shape, False


def svd_prune(params, rank: int):
    """Truncate every weight matrix of ``params`` to rank ``rank`` (see the module docstring).

    Args:
      params: a pytree of arrays (one model's parameters).
      rank: ``k >= 1``.

    Returns:
      a pytree like ``params``; every pruned matrix has rank ``<= k``.
    """
    k = _checks.check_int("rank", rank, 1)

    def one(path, a):
        a = jnp.asarray(a)
        view = _matrix_view(path, a)
        if view is None:
            return a
        shape, is_kernel = view
        if min(shape[-2:]) <= k:
            return a
        m = a.reshape(shape) if is_kernel else a
        return _truncate(m, k).reshape(a.shape).astype(a.dtype)

    return jax.tree_util.tree_map_with_path(one, params)


def matrix_ranks(params) -> dict[str, int]:
    """The largest useful rank per pruned leaf (``min(m, n)`` of its matrix view), keyed by path."""
    out = {}
    for path, a in jax.tree_util.tree_flatten_with_path(params)[0]:
        view = _matrix_view(path, jnp.asarray(a))
        if view is not None:
            out[jax.tree_util.keystr(path)] = int(min(view[0][-2:]))
    return out


def smallest_rank(ranks, acc, full_acc: float, fraction: float = 0.95) -> int | None:
    """The smallest ``k`` of ``ranks`` whose accuracy is ``>= fraction * full_acc`` (None if none)."""
    _checks.check_real("fraction", fraction, 0, 1, lo_open=True)
    ranks, acc = np.asarray(ranks), np.asarray(acc)
    ok = acc >= fraction * full_acc
    return int(ranks[ok].min()) if np.any(ok) else None


def _first_kernel(params):
    """The first layer's kernel: Flax's ``Dense_0``/``Conv_0`` (or the first ``kernel`` leaf)."""
    for name in ("Dense_0", "Conv_0"):
        if isinstance(params, dict) and name in params and "kernel" in params[name]:
            return name, np.asarray(params[name]["kernel"])
    for path, a in jax.tree_util.tree_flatten_with_path(params)[0]:
        if path and str(getattr(path[-1], "key", "")) == "kernel":
            return jax.tree_util.keystr(path), np.asarray(a)
    raise ValueError("Argument `params` has no `kernel` leaf (input_site_weights is for the Flax baselines).")


def input_site_weights(model, params, top: int = 1, edge_cells: int = 2) -> dict[str, Any]:
    r"""Which inputs the top singular directions of the first layer weigh.

    With the first-layer matrix ``W = U S V^T`` (rows = inputs), the weight of input ``f`` is
    ``sum_{i < top} S_i^2 U_{fi}^2 / sum_{i < top} S_i^2`` (it sums to 1 over inputs).

    * Flat input of a matrix ``(N, N)`` (the MLP on ``hamiltonian``/``projector``): the weight of an
      entry ``M_ij`` is split half to site ``i`` and half to site ``j``, and sites are summed into
      cells (``site // n_orb``). Returns ``cell_weights`` ``(n_cells,)`` and ``edge_fraction``: the
      weight on the ``edge_cells`` cells at each end of a chain, next to ``edge_share``, the share
      those cells would get if every cell weighed the same.
    * Convolutions: ``offset_weights`` ``(window,)`` per kernel position (weight sharing makes every
      cell look through the same window).
    """
    _checks.check_int("top", top, 1)
    name, K = _first_kernel(params)
    W = K.reshape(-1, K.shape[-1])
    U, S, _ = np.linalg.svd(W, full_matrices=False)
    t = min(int(top), S.size)
    w = (U[:, :t] ** 2 * S[:t] ** 2).sum(axis=1) / (S[:t] ** 2).sum()
    out: dict[str, Any] = {"layer": name, "top": t, "singular_values": S, "input_weights": w}
    lat = model.lattice
    if K.ndim == 2 and lat is not None and W.shape[0] == lat.n_sites**2 * 2:
        N = lat.n_sites
        e = w.reshape(N, N, 2).sum(axis=-1)
        site = 0.5 * (e.sum(axis=1) + e.sum(axis=0))
        cell = np.bincount(np.arange(N) // lat.n_orb, weights=site, minlength=lat.n_cells)
        out["cell_weights"] = cell
        if lat.kind == "chain":
            ec = min(int(edge_cells), lat.n_cells // 2)
            edge = np.r_[np.arange(ec), np.arange(lat.n_cells - ec, lat.n_cells)]
            out["edge_cells"] = edge
            out["edge_fraction"] = float(cell[edge].sum())
            out["edge_share"] = float(edge.size / lat.n_cells)
    elif K.ndim >= 3:
        out["offset_weights"] = w.reshape(K.shape[:-1]).reshape(int(np.prod(K.shape[:-2])), -1).sum(axis=1)
    return out
