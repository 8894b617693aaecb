r"""topo's 1D winding network as a function of its parameters, for landscape work (moved from
``tnn.landscape.chain``, issue 21: it builds the loss from the model).

:mod:`tnn.models.topo` is the model; this module evaluates the same function faster. Channel ``k``
of a chain topo network (``docs/conventions.md``, "1D: the SSH family") is

.. math::
    z_k = \sum_{ij} K^k_{ij}\, |U^k_{ij}|^2, \qquad
    U^k_{ij} = \sum_n g_k(n)\, a^k_n(i)\, b^k_n(j)^*,

with ``a^k_n(i) = sum_o M^k_{0o} psi_n(i, o)``, ``b^k_n(j) = sum_o M^k_{1o} psi_n(j, o)``. The
contraction of :func:`tnn.contractions.winding_network` follows an ``opt_einsum`` path that forms
``U`` twice (once for each pair of amplitudes); here ``U`` is formed once, which halves the cost of
a training step (the cost is ``K L^2 N`` per sample: 64 inits x 256 chains of 16 cells is about
3e8 multiply-adds per forward pass). :func:`outputs` equals ``model.apply`` to rounding
(``tests/test_landscape_minima.py`` checks 1e-12 in float64).

The kernels come from :func:`tnn.models.topo.winding_kernels`; the spectral weights, the head
``f = w . z + b + mlp(z)`` and the class logits ``-tau (f - v_c)^2``
(:func:`tnn.models.base.class_logits`) are the formulas of :mod:`tnn.models.topo`.

The parameter blocks (:data:`tnn.landscape.chain.BLOCKS`, :func:`tnn.landscape.chain.block_masks`)
are functions of the parameter pytree alone and stay in :mod:`tnn.landscape`.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import optax

from tnn import contractions
from tnn.lattice import Lattice
from tnn.models import topo
from tnn.models.base import ModelConfig, class_logits

__all__ = ["invariant_values", "outputs", "make_chain_loss"]


def _mlp(p, u):
    """The K per-channel one-hidden-layer MLPs of topo on scalars ``u`` ``(M,)`` -> ``(K, M)``."""
    h = jnp.tanh(u[None, :, None] * p["w1"][:, 0][:, None, :] + p["b1"][:, None, :])
    return jnp.einsum("kmh,kh->km", h, p["w2"][..., 0]) + p["b2"]


def _spectral(params, E, config: ModelConfig):
    """``(K, N)`` spectral weights ``g_k(n)`` (the formula of :mod:`tnn.models.topo`)."""
    ps = params["spectral"]
    if config.spectral == "sign":
        s = jnp.asarray(contractions.exact_winding_weights(E.shape[0]), E.dtype)
        keep = jnp.abs(E) > topo.ZERO_MODE_TOL * jnp.max(jnp.abs(E))
        base = jnp.where(keep, s, jnp.zeros((), E.dtype))[None, :]
    else:
        base = jnp.tanh(jnp.exp(ps["log_beta"])[:, None] * E[None, :])
    return ps["c"][:, None] * base + _mlp(ps["mlp"], E)


def _head_f(head, z):
    f = z @ head["w"] + head["b"]
    if "mlp" in head:
        m = head["mlp"]
        f = f + jnp.tanh(z @ m["w1"] + m["b1"]) @ m["w2"] + m["b2"]
    return f


def _channels(params, kern, E, V, n_orb: int, config: ModelConfig):
    """``(K,)`` channel values of one sample (``E`` ``(N,)``, ``V`` ``(N, N)``)."""
    psi = contractions.as_cell_orbital(V, n_orb)  # (L, n_orb, N)
    M = params["mixing"].astype(psi.dtype)
    a = jnp.einsum("ion,ko->kin", psi, M[:, 0])
    b = jnp.einsum("jpn,kp->kjn", psi, M[:, 1])
    g = _spectral(params, jnp.real(E), config).astype(a.dtype)
    U = jnp.einsum("kin,kjn->kij", a * g[:, None, :], jnp.conj(b))
    return jnp.sum(kern * jnp.real(U * jnp.conj(U)), axis=(1, 2))


def invariant_values(params, E, V, lat: Lattice, config: ModelConfig):
    """The head's value ``f`` ``(B,)`` (the regressed invariant, before the class logits) of a batch.

    Args:
      params: one chain topo network's parameters (:func:`tnn.models.topo.init_params`).
      E: ``(B, N)`` energies, ascending; V: ``(B, N, N)`` eigenvectors as columns (library site order).
      lat: the chain; config: the model's :class:`~tnn.models.ModelConfig`.
    """
    kern = topo.winding_kernels(params, lat, config.trim).astype(params["kernel"]["a"].dtype)
    z = jax.vmap(lambda e, v: _channels(params, kern, e, v, lat.n_orb, config))(E, V)
    return _head_f(params["head"], z)


def outputs(params, E, V, lat: Lattice, config: ModelConfig):
    """``model.apply(params, x)`` ``(B, n_out)`` of the chain topo network, for ``x = {"energies": E,
    "eigenvectors": V}`` (``E`` ``(B, N)``, ``V`` ``(B, N, N)``)."""
    f = invariant_values(params, E, V, lat, config)
    if config.task == "regress":
        return f[:, None]
    return class_logits(f, config.classes, params["head"]["log_tau"])


def make_chain_loss(config: ModelConfig, lat: Lattice, E, V, t) -> Callable:
    """``loss(params) -> scalar``: the training loss of :func:`tnn.train.make_loss` (mean softmax
    cross-entropy on class indices ``t`` ``(B,)``, or the mean squared error to values ``t`` for
    ``task="regress"``) on the batch ``E`` ``(B, N)``, ``V`` ``(B, N, N)``."""

    def loss(params):
        out = outputs(params, E, V, lat, config)
        if config.task == "classify":
            return optax.softmax_cross_entropy_with_integer_labels(out, t).mean()
        return jnp.mean((out[:, 0] - t.astype(out.dtype)) ** 2)

    return loss
