r"""Where random initializations of topo's 1D network end: one vmap ensemble, then clusters.

:func:`train_endpoints` trains ``n_inits`` members from ``ModelConfig(init="random")`` draws
(member ``i`` initialized by ``jax.random.key(seed + i)``, the convention of :func:`tnn.train.fit`)
as one ``jit(vmap(scan))`` over full-batch Adam steps (``optax.adam`` with a cosine decay of the
rate to ``final_fraction`` of its peak, so the endpoints settle into their basins), on the loss of
:func:`tnn.landscape.chain.make_chain_loss`. Training runs in ``train_dtype`` (float32 by default:
half the cost of float64 on CPU; the endpoints are returned in the parameters' float64 for the
curvature that follows).

:func:`cluster_endpoints` groups endpoints by the function they compute: the RMS difference of
the head values ``f`` (the regressed invariant) over a fixed probe batch,
``d_f(p, q) = sqrt(mean_b (f_p(b) - f_q(b))^2)``, average-linkage agglomerative clustering
(``scipy.cluster.hierarchy.linkage``) cut at ``tol_f`` (``fcluster``, criterion ``"distance"``).
The same rule on the canonical parameters (:func:`tnn.landscape.symmetry.canonicalize`), RMS per
parameter cut at ``tol_p``, counts how many distinct parameter points (modulo the named symmetries)
realize those functions. Clusters are numbered by size (descending), ties by their lowest loss.
"""

from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from tnn import _checks
from tnn.lattice import Lattice
from tnn.landscape.chain import make_chain_loss
from tnn.models import topo
from tnn.models.base import ModelConfig
from tnn.train import optim

__all__ = ["init_ensemble", "train_endpoints", "cluster_endpoints"]


def init_ensemble(model_config: ModelConfig, lat: Lattice, n_inits: int, seed: int = 0):
    """Stacked parameters (every leaf ``(n_inits, ...)``) of ``n_inits`` topo members, member ``i``
    from ``jax.random.key(seed + i)`` and ``model_config.init``."""
    members = [topo.init_params(jax.random.key(seed + i), model_config, lat) for i in range(n_inits)]
    return jax.tree_util.tree_map(lambda *a: jnp.stack(a), *members)


def train_endpoints(model_config: ModelConfig, lat: Lattice, E, V, t, *, n_inits: int = 64, steps: int = 300,
                    learning_rate: float = 3e-2, final_fraction: float = 0.01, seed: int = 0,
                    train_dtype: str = "float32") -> dict:
    """Train ``n_inits`` random initializations together (module docstring).

    Args:
      model_config: a chain topo :class:`~tnn.models.ModelConfig` (its ``init`` is used, e.g. "random").
      lat: the chain. E: ``(B, N)`` energies; V: ``(B, N, N)`` eigenvectors; t: ``(B,)`` class
        indices (classify) or values (regress), as :func:`tnn.train.encode_labels` gives them.
      n_inits: members. steps: full-batch Adam steps. learning_rate: peak rate.
      final_fraction: the cosine decay's final rate as a fraction of the peak.
      seed: member ``i`` uses ``jax.random.key(seed + i)``.
      train_dtype: ``"float32"`` or ``"float64"``.

    Returns:
      dict: ``params`` (stacked, float64 leaves ``(n_inits, ...)``), ``loss_history``
      ``(n_inits, steps)`` (NumPy, in ``train_dtype``), ``seeds`` (list).
    """
    n_inits = _checks.check_int("n_inits", n_inits, 1)
    steps = _checks.check_int("steps", steps, 1)
    learning_rate = _checks.check_real("learning_rate", learning_rate, 0, lo_open=True)
    final_fraction = _checks.check_real("final_fraction", final_fraction, 0, 1)
    train_dtype = _checks.check_choice("train_dtype", train_dtype, ("float32", "float64"))
    dt = jnp.float32 if train_dtype == "float32" else jnp.float64
    params = init_ensemble(model_config, lat, n_inits, seed)
    loss = make_chain_loss(model_config, lat, jnp.asarray(E, dt), jnp.asarray(V, dt), jnp.asarray(t))
    sched = optax.cosine_decay_schedule(learning_rate, steps, alpha=final_fraction)
    tx = optax.adam(sched)

    def run(p):
        def body(carry, _):
            p, s = carry
            val, g = jax.value_and_grad(loss)(p)
            upd, s = optim.update(tx, g, s, p)
            return (optax.apply_updates(p, upd), s), val

        (p, _), hist = jax.lax.scan(body, (p, optim.init(tx, p)), None, length=steps)
        return p, hist

    p0 = jax.tree_util.tree_map(lambda a: a.astype(dt), params)
    p_end, hist = jax.jit(jax.vmap(run))(p0)
    p_end = jax.tree_util.tree_map(lambda a, ref: a.astype(ref.dtype), p_end, params)
    return {"params": p_end, "loss_history": np.asarray(hist), "seeds": [seed + i for i in range(n_inits)]}


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
