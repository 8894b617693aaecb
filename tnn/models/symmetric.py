r"""A symmetry-informed network: what the physics knows, built in exactly.

The network is ``f(x) = (1/|G|) sum_{g in G} chi(g) h(T_g x)``: a translation-invariant CNN ``h``
(circular convolutions, global mean over cells, dense head to one real number) averaged over a
small group ``G`` of exact symmetries of the invariant, each acting on the input by ``T_g`` and on
the invariant by the sign ``chi(g)``. Group averaging makes ``f(T_g x) = chi(g) f(x)`` hold to
rounding for *every* parameter value, not only after training. ``f`` is the regressed invariant;
for ``task="classify"`` the logits are ``-tau (f - v_c)^2`` (trainable ``tau``), so the predicted
class is the class value nearest to ``f``.

Built-in structure, exactly (each is checked numerically in ``tests/test_models.py``):

Chains (class AIII, winding number W), ``chiral`` encoding of the Hamiltonian:

1. **Chiral / sublattice structure**: the input is only the A-B block ``t_r(n) = H[A_{n+r}, B_n]``;
   A-A and B-B entries (onsite terms, which break chiral symmetry) cannot change the output.
2. **Translation invariance**: cyclic shifts of the cells of a periodic chain leave ``f``
   unchanged (circular padding + global mean; exact for ``padding="circular"``, the default on
   periodic lattices).
3. **Global sign**: ``H -> -H`` (equivalently the gauge ``A_n -> -A_n``) leaves W unchanged:
   ``chi = +1``.
4. **Mirror** ``n -> L-1-n``: W -> -W, ``chi = -1`` (:func:`tnn.models.inputs.reflect_chiral`).

2D lattices (class A, Chern number C), ``cells`` encoding of the Hamiltonian:

1. **Translation invariance** as above, in both directions.
2. ``H -> -H`` exchanges occupied and empty bands; the Chern numbers of all bands add to zero, so
   C -> -C: ``chi = -1``.
3. **Complex conjugation** ``H -> H*`` (spinless time reversal): C -> -C, ``chi = -1``
   (:func:`tnn.models.inputs.conjugate_channels`).

Chains with the ``cells`` encoding get translation and the global sign only.

Other inputs (``ModelConfig.input``):

* ``projector`` (``sign(H)``; a chain's chiral block ``U = P_A sign(H) P_B``): the same groups as the
  Hamiltonian, with the same characters: ``sign(-H) = -sign(H)``, ``sign(H*) = sign(H)*``, the mirror
  and the translations act on ``sign(H)`` as on ``H``, and the winding number is a function of ``U``
  alone.
* site arrays ``density`` / ``edge_modes`` (``|psi_n(i)|^2``), ``cells`` encoding (``auto`` picks it:
  the ``chiral`` encoding reads matrices only). Chains: translations and the **mirror**
  (``n -> L-1-n`` maps ``|psi_n|^2`` to its reflection, energies unchanged, W -> -W: ``chi = -1``;
  :func:`tnn.models.inputs.reflect_sites`). ``H -> -H`` is not in the group (it reorders the states,
  not a channel map), nor is the sublattice structure. 2D: translations only, by necessity:
  ``|psi|^2`` of ``H*`` equals that of ``H`` while ``C -> -C``, so a function of densities can only
  be even in ``C``; no character -1 can act on them.

Input: ``(B, L, C)`` or ``(B, Lx, Ly, C)``, output ``(B, n_out)``; size-agnostic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import flax.linen as nn
import jax.numpy as jnp

from tnn.models import inputs
from tnn.models.base import MATRIX_INPUTS, SITE_INPUTS, Model, ModelConfig, class_logits, from_linen
from tnn.models.cnn import flax_padding

__all__ = ["SymmetricNet", "build", "group", "GROUPS"]

GROUPS = ("chain_chiral", "chain_cells", "plane_cells", "chain_sites", "plane_sites")


def group(kind: str):
    """The group of a symmetric net: a list of ``(transform, character)``."""

    def ident(x):
        return x

    def neg(x):
        return -x

    if kind == "chain_chiral":
        refl = inputs.reflect_chiral
        return [(ident, 1.0), (neg, 1.0), (refl, -1.0), (lambda x: -refl(x), -1.0)]
    if kind == "chain_cells":
        return [(ident, 1.0), (neg, 1.0)]
    if kind == "plane_cells":
        conj = inputs.conjugate_channels
        return [(ident, 1.0), (neg, -1.0), (conj, -1.0), (lambda x: -conj(x), 1.0)]
    if kind == "chain_sites":
        return [(ident, 1.0), (inputs.reflect_sites, -1.0)]
    if kind == "plane_sites":
        return [(ident, 1.0)]
    raise ValueError(f"Argument `kind` must be one of {GROUPS}, got {kind!r}.")


class _InvariantCNN(nn.Module):
    width: int
    depth: int
    kernel_size: int
    padding: str
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):  # (B, *spatial, C) -> (B,)
        nd = x.ndim - 2
        for _ in range(self.depth):
            x = nn.gelu(nn.Conv(self.width, (self.kernel_size,) * nd, padding=flax_padding(self.padding), param_dtype=self.param_dtype)(x))
        x = x.mean(axis=tuple(range(1, 1 + nd)))
        x = nn.gelu(nn.Dense(self.width, param_dtype=self.param_dtype)(x))
        return nn.Dense(1, param_dtype=self.param_dtype)(x)[:, 0]


class SymmetricNet(nn.Module):
    width: int
    depth: int
    kernel_size: int
    padding: str
    group_kind: str
    task: str
    classes: tuple
    tau: float = 10.0
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        elems = group(self.group_kind)
        h = _InvariantCNN(self.width, self.depth, self.kernel_size, self.padding, self.param_dtype)
        B = x.shape[0]
        # One call on the stacked orbit (|G| B samples) shares the parameters and the compilation.
        hx = h(jnp.concatenate([t(x) for t, _ in elems], axis=0)).reshape(len(elems), B)
        chi = jnp.asarray(np.array([c for _, c in elems]), dtype=hx.dtype)
        f = (chi[:, None] * hx).mean(axis=0)
        if self.task == "regress":
            return f[:, None]
        log_tau = self.param("log_tau", lambda key: jnp.asarray(np.log(self.tau), dtype=self.param_dtype))
        return class_logits(f, self.classes, log_tau)


def group_kind(config: ModelConfig, lat) -> str:
    enc = config.resolved_encoding(lat)
    source = config.resolved_input()
    if source not in MATRIX_INPUTS + SITE_INPUTS:
        raise ValueError(
            f"ModelConfig field `input` must be one of {MATRIX_INPUTS + SITE_INPUTS} (or 'auto') for the "
            f"symmetric net, whose symmetries act on those, got {config.input!r}."
        )
    if lat is None:
        raise ValueError("Argument `lat` must be given for the symmetric net (its symmetries depend on the lattice).")
    if source in SITE_INPUTS:
        if enc == "cells":
            return "chain_sites" if lat.kind == "chain" else "plane_sites"
        raise ValueError(f"ModelConfig field `encoding` must be 'cells' for the symmetric net on {source!r}, got {enc!r}.")
    if lat.kind == "chain":
        if enc == "chiral":
            return "chain_chiral"
        if enc == "cells":
            return "chain_cells"
    elif enc == "cells":
        return "plane_cells"
    raise ValueError(
        f"ModelConfig field `encoding` must be 'chiral' or 'cells' on a chain, 'cells' in 2D for the "
        f"symmetric net, got {enc!r} on a {lat.kind} lattice."
    )


def build(config: ModelConfig, lat, prepare) -> Model:
    module = SymmetricNet(
        config.width,
        config.depth,
        config.kernel_size,
        config.resolved_padding(lat),
        group_kind(config, lat),
        config.task,
        tuple(config.classes),
        config.tau,
        config.resolved_dtype(),
    )
    return from_linen(module, config, lat, prepare)
