"""Shared pieces of :mod:`tnn.landscape`: the loss and parameter types, argument checks, and the flat
view of a parameter pytree (``ravel_pytree`` order, the index convention of every Hessian here)."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

__all__ = ["Params", "LossFn", "check_loss", "flat_params", "like_params"]

Params = Any


class LossFn(Protocol):
    def __call__(self, params: Params) -> jax.Array: ...


def check_loss(loss) -> None:
    """``ValueError`` unless ``loss`` is callable."""
    if not callable(loss):
        raise ValueError(f"Argument `loss` must be a callable params -> scalar, got {type(loss).__name__}.")


def flat_params(params, name: str = "params"):
    """``(x, unravel)``: ``ravel_pytree`` of ``params`` after checking it holds real floating arrays."""
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError(f"Argument `{name}` must hold at least one array, got an empty pytree.")
    for a in leaves:
        if not jnp.issubdtype(jnp.result_type(a), jnp.floating):
            raise ValueError(f"Argument `{name}` must hold real floating arrays only, got dtype {jnp.result_type(a)}.")
    x, unravel = ravel_pytree(params)
    return x, unravel


def like_params(params, v, name: str):
    """``v`` as a pytree like ``params``: a pytree of the same structure and shapes, or a flat
    vector ``(P,)`` in ``ravel_pytree`` order. Raises ``ValueError`` naming ``name`` otherwise."""
    x, unravel = flat_params(params)
    ts, tv = jax.tree_util.tree_structure(params), jax.tree_util.tree_structure(v)
    if tv == ts:
        shp = [jnp.shape(a) for a in jax.tree_util.tree_leaves(params)]
        got = [jnp.shape(a) for a in jax.tree_util.tree_leaves(v)]
        if shp != got:
            raise ValueError(f"Argument `{name}` must have the leaf shapes of `params` {shp}, but has {got}.")
        return jax.tree_util.tree_map(lambda a, p: jnp.asarray(a, jnp.result_type(p)), v, params)
    if isinstance(v, (jax.Array, np.ndarray)) and jnp.shape(v) == x.shape:
        return unravel(jnp.asarray(v, x.dtype))
    raise ValueError(
        f"Argument `{name}` must be a pytree like `params` or a flat vector of shape ({x.shape[0]},), "
        f"got {type(v).__name__} of shape {jnp.shape(v) if hasattr(v, 'shape') else '-'}."
    )



