r"""The parameter blocks of topo's 1D winding network (chain): which entries of the flat vector are which.

Parameter blocks (:data:`BLOCKS`): ``kernel`` (``a_k`` and the distance MLP), ``spectral``
(``c_k``, the energy MLP, ``log_beta`` of the tanh branch), ``mixing`` (``M^k``, ``(K, 2, n_orb)``)
and ``head`` (``w``, ``b``, ``log_tau``, the head MLP). :func:`block_masks` gives each block's
entries in ``ravel_pytree`` order, the order of :func:`tnn.landscape.hessian`.

Functions of the parameter pytree only (no model is imported). The network itself as a function of
its parameters (:func:`~tnn.study.topo_chain.outputs`, :func:`~tnn.study.topo_chain.invariant_values`,
:func:`~tnn.study.topo_chain.make_chain_loss`) moved to :mod:`tnn.study.topo_chain` (issue 21); the old
names here still work for one version, with a ``DeprecationWarning``.
"""

from __future__ import annotations

import numpy as np
import jax
from jax.flatten_util import ravel_pytree

from tnn._moved import moved_names

__all__ = ["BLOCKS", "check_chain_params", "block_masks"]

#: the parameter blocks of a chain topo network, in the order reports list them
BLOCKS = ("kernel", "spectral", "mixing", "head")

__getattr__ = moved_names(__name__, dict.fromkeys(("invariant_values", "outputs", "make_chain_loss"),
                                                  "tnn.study.topo_chain"))


def check_chain_params(params, name: str = "params") -> int:
    """``ValueError`` naming ``name`` unless ``params`` are one chain topo network's; returns ``K``."""
    if not isinstance(params, dict) or set(params) != set(BLOCKS):
        keys = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"Argument `{name}` must be the parameters of a chain topo network (blocks {list(BLOCKS)}), "
                         f"got {keys}.")
    K = int(np.shape(params["kernel"]["a"])[-1])
    if np.ndim(params["mixing"]) != 3 or np.shape(params["mixing"])[:2] != (K, 2):
        raise ValueError(f"Argument `{name}` must hold `mixing` of shape ({K}, 2, n_orb), got {np.shape(params['mixing'])}.")
    return K


def block_masks(params) -> dict[str, np.ndarray]:
    """``{block: (P,) bool}``: which entries of ``ravel_pytree(params)[0]`` belong to each block."""
    check_chain_params(params)
    out = {}
    for b in BLOCKS:
        marked = {k: jax.tree_util.tree_map(lambda a, on=(k == b): np.full(np.shape(a), on), v) for k, v in params.items()}
        out[b] = np.asarray(ravel_pytree(marked)[0]).astype(bool)
    return out
