r"""Loss-landscape slices (Li, Xu, Taylor, Studer & Goldstein, "Visualizing the loss landscape of
neural nets", NeurIPS 2018): filter-normalized random directions, 1D and 2D slices, and the
straight line between two parameter points with its barrier height (:mod:`tnn.landscape`)."""

from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks
from tnn.landscape.pytrees import LossFn, Params, check_loss, flat_params, like_params

__all__ = ["random_direction", "slice_1d", "slice_2d", "line_barrier"]


def random_direction(key: jax.Array, params: Params, filter_normalize: bool = True, ignore_1d: bool = False) -> Params:
    """A Gaussian direction like ``params``, filter-normalized (Li et al., NeurIPS 2018).

    With ``filter_normalize``, every filter -- the slice ``a[..., j]`` of a leaf with ``ndim >= 2``
    (a Flax Dense unit ``(in, out)``, a convolution output channel ``(*window, in, out)``, a topo
    per-channel MLP unit) -- is rescaled to the norm of the same slice of ``params``; leaves with
    ``ndim <= 1`` (biases, topo's scalar couplings) are rescaled as a whole to their norm, or set
    to zero with ``ignore_1d`` (Li et al.'s default for biases). A filter whose weights are zero
    (e.g. topo's zero output layers at the exact init) gets a zero direction.
    """
    leaves, tree = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(key, len(leaves))
    out = []
    for kk, p in zip(keys, leaves):
        p = jnp.asarray(p)
        d = jax.random.normal(kk, p.shape, p.dtype)
        if filter_normalize:
            if p.ndim >= 2:
                ax = tuple(range(p.ndim - 1))
                pn = jnp.sqrt(jnp.sum(p**2, axis=ax, keepdims=True))
                dn = jnp.sqrt(jnp.sum(d**2, axis=ax, keepdims=True))
                d = d * pn / jnp.where(dn > 0, dn, 1)
            elif ignore_1d:
                d = jnp.zeros_like(p)
            else:
                d = d * jnp.linalg.norm(p) / jnp.maximum(jnp.linalg.norm(d), jnp.finfo(p.dtype).tiny)
        out.append(d)
    return jax.tree_util.tree_unflatten(tree, out)


def _alphas(a, name: str):
    a = jnp.asarray(a)
    if a.ndim != 1 or a.shape[0] < 1:
        raise ValueError(f"Argument `{name}` must have shape (n,) with n >= 1, but has shape {a.shape}.")
    return a


def _axpy(params, alpha, d):
    return jax.tree_util.tree_map(lambda p, q: p + alpha.astype(p.dtype) * q, params, d)


def slice_1d(loss: LossFn, params: Params, direction, alphas, batch_size: int | None = None) -> jax.Array:
    """Losses ``(A,)`` at ``params + alpha * direction`` for each ``alpha`` of ``alphas`` ``(A,)``.

    ``direction``: pytree like ``params`` or flat ``(P,)``. ``batch_size``: alphas evaluated at once
    (``jax.lax.map``; None: one at a time, memory of one loss)."""
    check_loss(loss)
    d = like_params(params, direction, "direction")
    a = _alphas(alphas, "alphas")
    return jax.lax.map(lambda t: loss(_axpy(params, t, d)), a, batch_size=batch_size)


def slice_2d(loss: LossFn, params: Params, d1, d2, alphas, betas, batch_size: int | None = None) -> jax.Array:
    """Losses ``(A, B)`` at ``params + alpha d1 + beta d2`` on the grid ``alphas x betas``."""
    check_loss(loss)
    d1 = like_params(params, d1, "d1")
    d2 = like_params(params, d2, "d2")
    a, b = _alphas(alphas, "alphas"), _alphas(betas, "betas")
    ga, gb = jnp.meshgrid(a, b, indexing="ij")
    pts = jnp.stack([ga.ravel(), gb.ravel()], axis=-1)
    out = jax.lax.map(lambda ab: loss(_axpy(_axpy(params, ab[0], d1), ab[1], d2)), pts, batch_size=batch_size)
    return out.reshape(a.shape[0], b.shape[0])


def line_barrier(loss: LossFn, start: Params, end: Params, n: int = 51) -> dict[str, np.ndarray | float]:
    """Losses on the straight line ``start + alpha (end - start)``, ``alpha`` in ``[0, 1]``
    (``n`` points), and the barrier height ``max_alpha L - max(L(0), L(1))`` (0 if the line
    rises monotonically to the higher end; > 0 if something higher than both ends lies between).

    Returns a dict: ``alphas`` ``(n,)``, ``losses`` ``(n,)``, ``barrier``, ``alpha_max`` (where the
    maximum is), ``start_loss``, ``end_loss``.
    """
    n = _checks.check_int("n", n, 2)
    end = like_params(start, end, "end")
    d = jax.tree_util.tree_map(lambda e, s: e - s, end, start)
    x0, _ = flat_params(start)
    alphas = jnp.linspace(0.0, 1.0, n, dtype=x0.dtype)
    losses = np.asarray(slice_1d(loss, start, d, alphas))
    i = int(np.argmax(losses))
    return {
        "alphas": np.asarray(alphas),
        "losses": losses,
        "barrier": float(losses[i] - max(losses[0], losses[-1])),
        "alpha_max": float(alphas[i]),
        "start_loss": float(losses[0]),
        "end_loss": float(losses[-1]),
    }
