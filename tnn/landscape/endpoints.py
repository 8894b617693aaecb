r"""Clusters of trained endpoints of topo's 1D network, by the function they compute.

:func:`cluster_endpoints` groups endpoints by the function they compute: the RMS difference of
the head values ``f`` (the regressed invariant) over a fixed probe batch,
``d_f(p, q) = sqrt(mean_b (f_p(b) - f_q(b))^2)``, average-linkage agglomerative clustering
(``scipy.cluster.hierarchy.linkage``) cut at ``tol_f`` (``fcluster``, criterion ``"distance"``).
The same rule on the canonical parameters (:func:`tnn.landscape.symmetry.canonicalize`), RMS per
parameter cut at ``tol_p``, counts how many distinct parameter points (modulo the named symmetries)
realize those functions. Clusters are numbered by size (descending), ties by their lowest loss.

Training the endpoints (:func:`~tnn.study.minima.train_endpoints`, :func:`~tnn.study.minima.init_ensemble`)
moved to :mod:`tnn.study.minima` (issue 21: it trains models); the old names here still work for one
version, with a ``DeprecationWarning``.
"""

from __future__ import annotations

import numpy as np
import jax
from jax.flatten_util import ravel_pytree

from tnn import _checks
from tnn._moved import moved_names

__all__ = ["cluster_endpoints"]

__getattr__ = moved_names(__name__, dict.fromkeys(("init_ensemble", "train_endpoints"), "tnn.study.minima"))


def _clusters(X, tol: float):
    """Average-linkage clusters of the rows of ``X`` ``(S, D)`` with the RMS distance cut at ``tol``;
    labels ``(S,)`` from 1 (one cluster for a single row)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    if X.shape[0] < 2:
        return np.ones(X.shape[0], int)
    d = pdist(X) / np.sqrt(X.shape[1])
    return fcluster(linkage(d, method="average"), t=tol, criterion="distance")


def cluster_endpoints(f_probe, canon_params, losses, *, tol_f: float = 0.05, tol_p: float = 0.05) -> dict:
    """Cluster endpoints by function (and count the parameter points), module docstring.

    Args:
      f_probe: ``(S, B)`` head values ``f`` of each endpoint on a fixed probe batch.
      canon_params: stacked canonical parameters (leaves ``(S, ...)``) or a flat ``(S, P)`` array.
      losses: ``(S,)`` training losses (ties in the cluster order; the representative is the member
        of lowest loss).
      tol_f: cut of the RMS difference of ``f``. tol_p: cut of the RMS parameter difference.

    Returns:
      dict: ``labels`` ``(S,)`` cluster index from 0 (0 = largest), ``clusters``: per cluster
      ``members`` (indices), ``representative`` (index), ``param_clusters`` (distinct canonical
      parameter points inside it), ``param_spread`` (largest RMS canonical distance of a member to
      the representative); ``n_param_clusters`` overall.
    """
    tol_f = _checks.check_real("tol_f", tol_f, 0, lo_open=True)
    tol_p = _checks.check_real("tol_p", tol_p, 0, lo_open=True)
    F = np.asarray(f_probe, np.float64)
    if F.ndim != 2:
        raise ValueError(f"Argument `f_probe` must have shape (S, B), but has shape {F.shape}.")
    S = F.shape[0]
    if isinstance(canon_params, (np.ndarray, jax.Array)):
        P = np.asarray(canon_params, np.float64)
    else:
        P = np.asarray(jax.vmap(lambda p: ravel_pytree(p)[0])(canon_params), np.float64)
    losses = np.asarray(losses, np.float64)
    if P.shape[0] != S or losses.shape != (S,):
        raise ValueError(f"Arguments `canon_params`, `losses` must have {S} rows like `f_probe`, got {P.shape[0]} and "
                         f"shape {losses.shape}.")
    raw = _clusters(F, tol_f)
    praw = _clusters(P, tol_p)
    ids = sorted(set(raw.tolist()), key=lambda c: (-int(np.sum(raw == c)), float(np.min(losses[raw == c]))))
    labels = np.empty(S, int)
    clusters = []
    for new, c in enumerate(ids):
        mem = np.flatnonzero(raw == c)
        labels[mem] = new
        rep = int(mem[np.argmin(losses[mem])])
        spread = np.linalg.norm(P[mem] - P[rep], axis=1).max() / np.sqrt(P.shape[1])
        clusters.append({"members": mem.tolist(), "representative": rep,
                         "param_clusters": int(len(set(praw[mem].tolist()))), "param_spread": float(spread)})
    return {"labels": labels, "clusters": clusters, "n_param_clusters": int(len(set(praw.tolist())))}
