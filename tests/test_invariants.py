r"""Real-space invariants of :mod:`tnn.invariants` against PHYSICS.md and :mod:`tnn.kspace`.

Every sign is fixed by one rule: a clean system's real-space invariant equals its k-space one.

* SSH family: ``W = (1/L') sum_{i in A} sum_{j in B} (x_i - x_j) |U_ij|^2`` (sign fixed by the
  rule), ``U = P_A sign(H) P_B``; open chains use the bulk trace (cells ``[L/4, 3L/4)``), periodic
  chains minimum-image distances. Both converge exponentially in ``L / xi`` deep in a phase.
* QWZ / Haldane: local marker ``C(r) = (4 pi/A) Im sum_o <r|P X P Y P|r>`` equals ``C`` in the bulk
  of an open sample and sums to 0 over it (a trace of a commutator-like term: ``Tr(P X P Y P)`` is
  real); the Bott index is an integer (``det`` of the unitary product is real positive) equal to
  ``C``.
"""

import functools

import numpy as np
import jax
import jax.numpy as jnp
import pytest

from tnn import contractions as tc
from tnn import hamiltonians, invariants, kspace, lattice

# ------------------------------------------------------------------ shared jitted helpers
SSH_CASES = [
    ((0.5, 1.5), (0, 1)),
    ((1.5, 0.5), (0, 1)),
    ((0.3, -0.2, 1.2), (0, 1, 2)),
    ((0.4, 1.1), (0, -1)),
]


@functools.partial(jax.jit, static_argnames=("lat", "ranges"))
def ssh_jit(t, wb, key, lat, ranges=(0, 1)):
    return hamiltonians.ssh(t, lat, ranges, bond_disorder=wb, key=key)


def ssh(t, lat, ranges=(0, 1), wb=0.0, key=None):
    if key is None:
        return hamiltonians.ssh(jnp.asarray(t), lat, ranges)
    return ssh_jit(jnp.asarray(t), wb, key, lat, ranges)


# ------------------------------------------------------------------ winding number
@pytest.mark.parametrize("pbc", [False, True])
@pytest.mark.parametrize("t,ranges", SSH_CASES)
def test_winding_equals_kspace(t, ranges, pbc):
    """Clean chains, L = 60: real space (polar and eigensystem routes) = k space to 1e-6.

    (The W = 2 chain has the longest correlation length; at L = 40 its open-chain eigensystem route,
    whose four edge zero modes are split arbitrarily between occupied and empty, is off by 7e-6.)"""
    lat = lattice.chain(60, pbc=pbc)
    H = ssh(t, lat, ranges)
    wk = kspace.winding_number(t, ranges)
    w, gap = invariants.winding_number(H, lat, return_gap=True)
    E, V = jnp.linalg.eigh(H)
    w2 = invariants.winding_number_from_eigh(E, V, lat)
    w3 = invariants.winding_number(H, lat, method="eigh")
    assert abs(float(w) - wk) < 1e-6
    assert abs(float(w2) - wk) < 1e-6
    assert abs(float(w3) - float(w2)) < 1e-12
    assert float(gap) > 1.0


def test_winding_bond_disorder():
    """Chiral bond disorder Wb = 1 on v = 0.5, w = 1.5, L = 100: OBC within 0.01 of 1, PBC 1 to 1e-6."""
    key = jax.random.key(3)
    for pbc, tol in ((False, 0.01), (True, 1e-6)):
        lat = lattice.chain(100, pbc=pbc)
        for k in jax.random.split(key, 3):
            H = ssh((0.5, 1.5), lat, wb=1.0, key=k)
            w = invariants.winding_number(H, lat)
            assert abs(float(w) - 1.0) < tol, (pbc, float(w))
