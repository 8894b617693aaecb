r"""The unitary polar factor of a chain's chiral block, ``U = h (h^dag h)^{-1/2}``, with a custom JVP.

``U = X Yh`` from one SVD ``h = X diag(s) Yh``; the JVP ``dU = X F Yh``,
``F_ij = (A_ij - conj(A_ji)) / (s_i + s_j)``, ``A = X^dag dh Y``, is finite at degenerate singular
values (see :mod:`tnn.invariants`, "Differentiability").
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

#: Relative size below which singular values of the chiral block are held fixed in the polar JVP.
GRAD_CUTOFF = 1e-6
#: Relative size (singular value or ``|E|``) at or below which a mode is an exact zero mode to working
#: precision: ``sign(0) = 0``, left out of ``U`` by both winding routes.
ZERO_MODE_FLOOR = 1e-12

def _svd_polar(h, rows):
    """Rows ``r0:r1`` of ``U = X Yh`` from the SVD ``h = X diag(s) Yh`` (``s`` descending). Modes at
    ``s <= ZERO_MODE_FLOOR * s_max`` are exact zero modes to working precision (``sign(0) = 0``: their
    pairing is arbitrary, as is the basis ``eigh`` returns for them) and are left out; every other
    mode is kept, however small (a near-zero mode in the bulk is part of ``sign(H)``)."""
    r0, r1 = rows
    X, s, Yh = jnp.linalg.svd(h)
    keep = (s > ZERO_MODE_FLOOR * s[0]).astype(X.dtype)
    return (X[r0:r1] * keep[None, :]) @ Yh, X, s, Yh


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def polar_svd(h, rows):
    return _svd_polar(h, rows)


@polar_svd.defjvp
def _polar_jvp(rows, primals, tangents):
    (h,), (dh,) = primals, tangents
    U, X, s, Yh = _svd_polar(h, rows)
    r0, r1 = rows
    # U = X_k Yh_k over the kept modes k (s > ZERO_MODE_FLOOR s_max). With A = X^dag dh Y:
    # d(X_k Yh_k) = X F Yh, F_ij = (A_ij - conj(A_ji)) / (s_i + s_j) for two kept modes (finite at
    # degenerate singular values), F_ij = A_ij / (s_i + s_j) for one kept and one zero mode (the
    # kept subspace turning into the null space: partial isometry), 0 for two zero modes. Two kept
    # modes that are both tiny (s <= GRAD_CUTOFF s_max: edge modes whose mutual pairing is
    # ill-conditioned) get 0 too, where 1/(s_i + s_j) would amplify rounding without bound.
    Y = jnp.conj(Yh.T)
    A = jnp.conj(X.T) @ dh @ Y
    kept = s > ZERO_MODE_FLOOR * s[0]
    tiny = s <= GRAD_CUTOFF * s[0]
    ki, kj = kept[:, None], kept[None, :]
    den = s[:, None] + s[None, :]
    both = ki & kj & ~(tiny[:, None] & tiny[None, :])
    mixed = ki ^ kj
    F = jnp.where(both, (A - jnp.conj(A.T)) / jnp.where(both, den, 1.0).astype(A.dtype), 0.0)
    F = F + jnp.where(mixed, A / jnp.where(mixed, den, 1.0).astype(A.dtype), 0.0)
    dU = X[r0:r1] @ F.astype(X.dtype) @ Yh
    return (U, X, s, Yh), (dU.astype(U.dtype), jnp.zeros_like(X), jnp.zeros_like(s), jnp.zeros_like(Yh))


def polar_factor(h):
    r"""Unitary polar factor ``U = h (h^dag h)^{-1/2} = X Yh`` of a square matrix ``h`` ``(L, L)``.

    From one SVD ``h = X diag(s) Yh`` (LAPACK ``gesdd``), every singular value kept, so a mode with a
    tiny but nonzero singular value enters with its exact singular vectors (the eigensystem route of
    :func:`winding_number` agrees to rounding). Differentiable with finite derivatives at degenerate
    singular values (custom JVP: ``dU = X F Yh``, ``F_ij = (A_ij - conj(A_ji)) / (s_i + s_j)``,
    ``A = X^dag dh Y``); modes below ``1e-6 s_max`` are held fixed in the derivative (see
    :data:`GRAD_CUTOFF`). Raises ``ValueError`` unless ``h`` is a square matrix.
    """
    h = jnp.asarray(h)
    if h.ndim != 2 or h.shape[0] != h.shape[1]:
        raise ValueError(f"Argument `h` must be a square matrix (L, L), but has shape {tuple(h.shape)}.")
    return polar_svd(h, (0, h.shape[0]))[0]


def chiral_block(H, lat=None):
    """The chiral block ``h = H[A, B] = H[0::2, 1::2]`` ``(L, L)`` of a chain Hamiltonian ``(2L, 2L)``;
    ``H = [[0, h], [h^dag, 0]]`` in (A, B) order when chiral symmetry holds. Rows are the A sites and
    columns the B sites of cells ``0..L-1`` in the library's order: for a lattice with a site order of
    its own (:func:`tnn.lattice.from_sites`) pass it as ``lat``, and ``H`` is put in the library's
    order first (as every invariant does)."""
    if lat is not None:
        H = lat.to_library_order(H)
    return H[0::2, 1::2]
