r"""Eigenvector conventions of the stored samples: the phase (gauge) of each eigenvector, and the
eigensystem of a chiral chain from one SVD of its chiral block.

Chiral chains (SSH without onsite disorder) are diagonalized through one ``L x L`` SVD of the chiral
block (:func:`chiral_eigh`) instead of a ``2L x 2L`` ``eigh``, about half the time at ``L = 50``;
:mod:`tnn.data.samples` uses it only when a stored feature needs the eigenvectors.
"""

from __future__ import annotations

import functools

import numpy as np
import jax.numpy as jnp

__all__ = ["gauge_reference", "fix_gauge", "chiral_eigh", "chiral_eigensystem"]

_GAUGE_SEED = 0x746E6E  # "tnn"


@functools.lru_cache(maxsize=None)
def gauge_reference(n: int) -> np.ndarray:
    """The fixed reference vector ``r`` ``(n,)`` of the ``"overlap"`` gauge: a real unit vector with
    i.i.d. normal entries from NumPy's PCG64 seeded with 0x746E6E. Read-only."""
    r = np.random.default_rng(_GAUGE_SEED).standard_normal(n)
    r = r / np.linalg.norm(r)
    r.setflags(write=False)
    return r


def fix_gauge(V, gauge: str = "overlap"):
    r"""Fix the free phase of each eigenvector (column of ``V`` ``(N, N)``) deterministically.

    * ``"overlap"``: ``psi_n -> psi_n conj(c_n)/|c_n|`` with ``c_n = r . psi_n`` and ``r`` the fixed
      generic vector :func:`gauge_reference`: the overlap with ``r`` becomes real positive. It is
      a smooth function of ``psi_n`` (no ties to break, unlike an argmax) wherever ``c_n != 0``,
      which has probability zero; there the phase is left alone.
    * ``"maxabs"``: the largest-magnitude component (first one on ties) becomes real positive.
    * ``"none"``: LAPACK's output as is.

    Real eigenvectors get a sign (+-1) this way. Rotations inside a degenerate eigenspace (clean
    periodic samples: ``E(k) = E(-k)``) are not fixed by any phase convention; there the basis is
    whatever ``eigh`` returns, deterministic for identical input on one machine and library build.
    """
    if gauge == "none":
        return V
    if gauge == "overlap":
        c = jnp.asarray(gauge_reference(V.shape[0]), dtype=V.dtype) @ V  # real reference, V's dtype (explicit)
    elif gauge == "maxabs":
        idx = jnp.argmax(jnp.abs(V), axis=0)
        c = jnp.take_along_axis(V, idx[None, :], axis=0)[0]
    else:
        raise ValueError(f"Argument `gauge` must be 'overlap', 'maxabs' or 'none', got {gauge!r}.")
    a = jnp.abs(c)
    ok = a > 0
    phase = jnp.where(ok, c / jnp.where(ok, a, 1).astype(c.dtype), 1).astype(V.dtype)
    return V * jnp.conj(phase)[None, :]


def chiral_eigh(h):
    r"""Eigensystem of the chiral chain Hamiltonian ``H = [[0, h], [h^dag, 0]]`` from one SVD of ``h``.

    ``h`` ``(L, L)`` is the chiral block ``H[0::2, 1::2]`` (A rows, B columns). With
    ``h = X diag(s) Y^dag`` (``s`` descending), ``H (x_k, +-y_k) = +-s_k (x_k, +-y_k)``, so the
    eigenvalues are ``-s_0 <= ... <= -s_{L-1} <= s_{L-1} <= ... <= s_0`` and the eigenvectors
    ``(x_k, -+y_k)/sqrt(2)`` interleaved into site order (A_n = ``2n``, B_n = ``2n+1``). Exact zero
    modes (open topological chains, ``s_{L-1} = 0``) come out as the pair ``(x, -y)`` / ``(x, +y)``
    of the smallest singular value, a valid basis of their degenerate space. Costs one ``L x L`` SVD instead of a ``2L x 2L`` ``eigh``
    (about half the time at ``L = 50``). Returns ``E`` ``(2L,)`` ascending and ``V`` ``(2L, 2L)``.
    """
    return chiral_eigensystem(*jnp.linalg.svd(h))


def chiral_eigensystem(X, s, Yh):
    """``(E, V)`` of :func:`chiral_eigh` from the SVD ``h = X diag(s) Yh`` (for callers that keep the
    SVD itself, e.g. for the polar-route invariant)."""
    Y = jnp.conj(Yh.T)
    L = X.shape[0]
    E = jnp.concatenate([-s, s[::-1]])
    c = jnp.asarray(1 / np.sqrt(2), dtype=X.dtype)  # the real factor in X's dtype (explicit promotion)
    A = jnp.concatenate([X, X[:, ::-1]], axis=1) * c
    B = jnp.concatenate([-Y, Y[:, ::-1]], axis=1) * c
    V = jnp.stack([A, B], axis=1).reshape(2 * L, 2 * L)
    return E, V
