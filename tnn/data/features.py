r"""Eigenvector features of one sample, gauge invariant: ``density``, ``edge_modes``, ``projector``.

The eigenvectors of ``H`` carry an arbitrary phase each, and inside a degenerate eigenspace an
arbitrary unitary (clean periodic samples: ``E(k) = E(-k)``; open topological chains: the zero-mode
pair). The features here are functions of the eigenspaces only, so they are the same for every
basis ``eigh`` or the chiral SVD route (:func:`tnn.data.chiral_eigh`) may return:

* ``density`` ``(N, N)``: ``rho[i, n] = |psi_n(i)|^2`` with the states in ascending energy order,
  averaged over each degenerate cluster (``rho[:, n] = diag(P_c) / d_c`` for the cluster ``c`` of
  ``n``, ``P_c`` the spectral projector and ``d_c`` its dimension). Clusters: runs of the ascending
  spectrum with consecutive gaps ``<= DEGENERACY_TOL * max|E|``. A non-degenerate state keeps its own
  ``|psi_n(i)|^2``.
* ``edge_modes`` ``(N, k)``: the ``density`` columns of the ``k`` states nearest zero energy
  (:data:`EDGE_MODES_K` = 4), ordered by ``|E|`` and then by ``E`` (``|E|`` ties within the same
  tolerance count as ties, so ``-E`` comes before ``+E`` whatever the rounding). On an open
  topological chain these are the edge modes (``2|W|`` of them) and the bulk states nearest the gap.
* ``projector``: ``Q = V sign(E) V^dag`` with ``sign(0) = 0`` for exact zero modes
  (``|E| <= ZERO_MODE_FLOOR * max|E|``, :data:`tnn.invariants.ZERO_MODE_FLOOR`: the same rule as both
  routes of :func:`tnn.invariants.winding_number`, so the pairing of an exact zero-mode pair, which
  is arbitrary, drops out). Chains: the chiral block ``U = Q[A, B] = Q[0::2, 1::2]`` ``(L, L)``;
  2D: ``Q`` ``(N, N)``.
* ``hoppings`` ``(R + 2, L)`` (chains): :func:`hoppings_from_hamiltonian` reads the SSH hopping
  table of :mod:`tnn.data` back from any chain Hamiltonian (the probes use it on modified chains).

All functions take one sample (``E`` ``(N,)`` ascending, ``V`` ``(N, N)`` eigenvectors in columns);
batch them with ``jax.vmap``. Site order and sign conventions: docs/conventions.md.
"""

from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks
from tnn.invariants import ZERO_MODE_FLOOR
from tnn.lattice import Lattice, check_lattice

__all__ = [
    "EDGE_MODES_K",
    "DEGENERACY_TOL",
    "EIGEN_FEATURES",
    "state_density",
    "edge_modes",
    "edge_mode_order",
    "sign_projector",
    "hoppings_from_hamiltonian",
    "eigen_features",
]

#: number of states nearest zero energy in the ``edge_modes`` feature
EDGE_MODES_K = 4
#: relative energy spacing (of ``max|E|``) below which neighbouring states count as degenerate
DEGENERACY_TOL = 1e-9
#: the features computed from the eigensystem (``wavefunctions`` needs a gauge: :func:`tnn.data.fix_gauge`)
EIGEN_FEATURES = ("density", "edge_modes", "projector")


def _scale(E):
    return jnp.max(jnp.abs(E))


def state_density(E, V, tol: float = DEGENERACY_TOL):
    r"""``|psi_n(i)|^2`` ``(N, N)`` (sites x states, ascending energy), averaged over each degenerate
    cluster of states, so it does not depend on the basis of a degenerate eigenspace.

    Args:
      E: ``(N,)`` ascending energies. V: ``(N, N)`` eigenvectors in columns.
      tol: two neighbouring energies closer than ``tol * max|E|`` are degenerate.
    """
    rho = jnp.real(V) ** 2 + jnp.imag(V) ** 2
    n = E.shape[0]
    new = jnp.concatenate([jnp.ones((1,), bool), jnp.diff(E) > tol * _scale(E)])
    cid = jnp.cumsum(new.astype(jnp.int32)) - 1  # cluster of each state
    sums = jax.ops.segment_sum(rho.T, cid, num_segments=n)  # (clusters, N sites)
    count = jax.ops.segment_sum(jnp.ones((n,), rho.dtype), cid, num_segments=n)
    return (sums[cid] / count[cid][:, None]).T


def edge_mode_order(E, tol: float = DEGENERACY_TOL):
    r"""Indices ``(N,)`` of the states ordered by ``|E|``, then by ``E``; ``|E|`` closer than
    ``tol * max|E|`` count as equal (so ``-E`` precedes ``+E`` whatever the rounding of ``eigh``)."""
    a = jnp.abs(E)
    t = tol * _scale(E)
    n = E.shape[0]
    idx = jnp.arange(n)
    near = jnp.abs(a[:, None] - a[None, :]) <= t
    before = (a[None, :] < a[:, None] - t) | (near & (E[None, :] < E[:, None])) | (
        near & (E[None, :] == E[:, None]) & (idx[None, :] < idx[:, None]))
    rank = jnp.sum(before, axis=1)
    return jnp.argsort(rank, stable=True)


def edge_modes(E, V, k: int = EDGE_MODES_K, tol: float = DEGENERACY_TOL):
    r"""``|psi_n(i)|^2`` ``(N, k)`` of the ``k`` states nearest zero energy (:func:`edge_mode_order`),
    degenerate clusters averaged as in :func:`state_density`. ``k`` static, ``1 <= k <= N``."""
    k = _checks.check_int("k", k, 1, E.shape[0])
    return state_density(E, V, tol)[:, edge_mode_order(E, tol)[:k]]


def sign_projector(E, V, chain_block: bool):
    r"""``Q = V sign(E) V^dag`` with ``sign(0) = 0`` for ``|E| <= ZERO_MODE_FLOOR * max|E|``.

    Returns the chain's chiral block ``U = Q[0::2, 1::2]`` ``(L, L)`` when ``chain_block``, else ``Q``
    ``(N, N)``."""
    s = jnp.where(jnp.abs(E) > ZERO_MODE_FLOOR * _scale(E), jnp.sign(E), 0.0).astype(V.dtype)
    if chain_block:
        return (V[0::2] * s[None, :]) @ jnp.conj(V[1::2].T)
    return (V * s[None, :]) @ jnp.conj(V.T)


def hoppings_from_hamiltonian(H, lat: Lattice, ranges):
    r"""The SSH ``hoppings`` table ``(R + 2, L)`` of a chain Hamiltonian ``H`` ``(2L, 2L)``.

    Row ``r < R``: ``H[A_{n + ranges[r]}, B_n]`` at column ``n`` (0 where an open chain has no such
    bond; wrapped on a periodic chain); rows ``R``, ``R + 1``: the onsite energies of ``A_n``, ``B_n``.
    Equals the stored feature of :mod:`tnn.data` whenever no two ranges share a bond (``L`` larger
    than the range span)."""
    lat = check_lattice(lat, ("chain",), "the hoppings feature")
    L = lat.n_cells
    n = np.arange(L)
    rows = []
    for r in ranges:
        target = n + int(r)
        valid = np.ones(L, bool) if lat.pbc else (target >= 0) & (target < L)
        target = np.mod(target, L)
        vals = H[2 * target, 2 * n + 1]
        rows.append(jnp.where(jnp.asarray(valid), vals, jnp.zeros((), H.dtype)))
    d = jnp.diagonal(H)
    return jnp.stack([*rows, d[0::2], d[1::2]])


def eigen_features(names, E, V, chain_block: bool, k: int = EDGE_MODES_K) -> dict:
    r"""The eigenvector features ``names`` (a subset of :data:`EIGEN_FEATURES`) of one sample:
    ``{"density": (N, N), "edge_modes": (N, k), "projector": (L, L) or (N, N)}``."""
    out = {}
    if "density" in names:
        out["density"] = state_density(E, V)
    if "edge_modes" in names:
        out["edge_modes"] = edge_modes(E, V, k)
    if "projector" in names:
        out["projector"] = sign_projector(E, V, chain_block)
    return out
