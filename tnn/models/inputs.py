r"""Encodings: dataset features -> the arrays the baseline networks read.

Every function here is pure, batched over any leading axes ``...``, and driven by static NumPy
index tables derived from the (static, hashable) lattice, so it runs inside ``jit``/``vmap``.
All encodings are real: a complex entry ``z`` becomes the two channels ``(Re z, Im z)``, always
(also for real input, whose imaginary channels are then zero), so a network sees the same number
of channels for real (SSH) and complex (QWZ, Haldane) Hamiltonians.

Channel layout (last axis), innermost first: ``part`` (0 = Re, 1 = Im), then the orbital pair or
range, then the offset. Complex conjugation of the input is therefore "negate every odd channel"
(:func:`conjugate_channels`), which :mod:`tnn.models.symmetric` relies on.

Encodings of a matrix ``M`` of shape ``(..., N, N)`` (Hamiltonian or projector):

* ``cells``: for every cell ``c`` and every offset ``delta`` in the box ``[-R, R]^d`` (lattice
  coordinates), the block ``M[sites(c + delta), sites(c)]`` (``n_orb x n_orb``). PBC wraps, OBC
  pads with zeros. Shape ``(..., *dims, (2R+1)^d * n_orb^2 * 2)``. Local, translation covariant,
  size-agnostic.
* ``chiral`` (chains only): the chiral (A-B) hoppings ``t_r(n) = M[A_{n+r}, B_n]``,
  ``r = -R..R``. Shape ``(..., L, (2R+1) * 2)``. It drops the A-A and B-B blocks, which vanish
  for a chiral-symmetric Hamiltonian.
* ``flat``: every entry, ``(..., N * N * 2)`` (fixed size; for the MLP).

Encodings of a site array ``rho`` of shape ``(..., N, k)`` (the stored ``density``
``|psi_n(i)|^2``, ``k = N`` states, or ``edge_modes``, ``k = 4``): ``cells`` gives
``(..., *dims, n_orb * k)`` (channel ``o * k + n``: orbital ``o``, state ``n``) and ``flat``
``(..., N * k)``. With ``density`` the number of channels grows with ``N`` (not size-agnostic);
``edge_modes`` has a fixed ``k``, so its ``cells`` encoding is size-agnostic.
The SSH ``hoppings`` feature ``(..., R + 2, L)`` becomes ``(..., L, R + 2)``
(:func:`hoppings_cells`); the SSH ``projector`` (the ``(L, L)`` chiral block) is embedded in a
``2L x 2L`` matrix first (:func:`chiral_block_to_matrix`).
"""

from __future__ import annotations

import functools

import numpy as np
import jax.numpy as jnp

from tnn.lattice import Lattice

__all__ = [
    "cells",
    "chiral",
    "flat",
    "site_cells",
    "site_flat",
    "hoppings_cells",
    "flat_real",
    "chiral_block_to_matrix",
    "conjugate_channels",
    "reflect_chiral",
    "reflect_sites",
    "n_cell_channels",
    "n_chiral_channels",
]


def _reim(z):
    """``(..., k)`` complex or real -> ``(..., k, 2)`` real, the last axis (Re, Im)."""
    if jnp.iscomplexobj(z):
        return jnp.stack([jnp.real(z), jnp.imag(z)], axis=-1)
    return jnp.stack([z, jnp.zeros_like(z)], axis=-1)


def _offsets(ndim: int, radius: int) -> np.ndarray:
    grids = np.meshgrid(*[np.arange(-radius, radius + 1)] * ndim, indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=-1)  # (n_off, d), C order


@functools.lru_cache(maxsize=None)
def _cell_tables(lat: Lattice, radius: int):
    """Static gather tables for :func:`cells`: rows, cols ``(n_cells, n_off, o, o)`` and a mask."""
    offs = _offsets(lat.ndim, radius)
    dims = np.asarray(lat.dims)
    target = lat.cell_coords[:, None, :] + offs[None, :, :]  # (n_cells, n_off, d)
    if lat.pbc:
        valid = np.ones(target.shape[:2], dtype=bool)
        target = np.mod(target, dims)
    else:
        valid = np.all((target >= 0) & (target < dims), axis=-1)
        target = np.where(valid[..., None], target, 0)
    o = lat.n_orb
    tcell = np.ravel_multi_index(tuple(np.moveaxis(target, -1, 0)), lat.dims)  # (n_cells, n_off)
    scell = np.arange(lat.n_cells)[:, None] * np.ones_like(tcell)
    rows = tcell[:, :, None, None] * o + np.arange(o)[None, None, :, None]
    cols = scell[:, :, None, None] * o + np.arange(o)[None, None, None, :]
    rows, cols = np.broadcast_arrays(rows, cols)
    return rows.astype(np.int32), cols.astype(np.int32), valid


def n_cell_channels(ndim: int, radius: int, n_orb: int = 2) -> int:
    """Number of channels of the ``cells`` encoding of a matrix."""
    return (2 * radius + 1) ** ndim * n_orb * n_orb * 2


def n_chiral_channels(radius: int) -> int:
    """Number of channels of the ``chiral`` encoding."""
    return (2 * radius + 1) * 2


def cells(M, lat: Lattice, radius: int = 1):
    """``cells`` encoding of ``M`` ``(..., N, N)`` -> ``(..., *lat.dims, n_cell_channels)``."""
    rows, cols, valid = _cell_tables(lat, int(radius))
    blocks = M[..., rows, cols]  # (..., n_cells, n_off, o, o)
    blocks = jnp.where(valid[:, :, None, None], blocks, jnp.zeros((), blocks.dtype))
    feats = _reim(blocks)  # (..., n_cells, n_off, o, o, 2)
    lead = feats.shape[: feats.ndim - 5]
    return feats.reshape(*lead, *lat.dims, -1)


@functools.lru_cache(maxsize=None)
def _chiral_tables(lat: Lattice, radius: int):
    L = lat.n_cells
    n = np.arange(L)[:, None]
    r = np.arange(-radius, radius + 1)[None, :]
    target = n + r
    if lat.pbc:
        valid = np.ones(target.shape, dtype=bool)
        target = np.mod(target, L)
    else:
        valid = (target >= 0) & (target < L)
        target = np.where(valid, target, 0)
    rows = (2 * target).astype(np.int32)  # A_{n+r}
    cols = np.broadcast_to(2 * n + 1, rows.shape).astype(np.int32)  # B_n
    return rows, cols, valid


def chiral(M, lat: Lattice, radius: int = 1):
    """``chiral`` encoding ``t_r(n) = M[A_{n+r}, B_n]`` of ``M`` ``(..., 2L, 2L)`` -> ``(..., L, (2R+1)*2)``."""
    if lat.kind != "chain":
        raise ValueError(f"Argument `lat` must be a chain for the chiral encoding, got a {lat.kind} lattice.")
    rows, cols, valid = _chiral_tables(lat, int(radius))
    t = M[..., rows, cols]
    t = jnp.where(valid, t, jnp.zeros((), t.dtype))
    feats = _reim(t)  # (..., L, 2R+1, 2)
    return feats.reshape(*feats.shape[:-2], -1)


def flat(M):
    """Every entry of ``M`` ``(..., N, N)`` as ``(..., N*N*2)`` real features."""
    feats = _reim(M)
    return feats.reshape(*M.shape[:-2], -1)


def flat_real(a):
    """Any real feature ``(B, ...)`` -> ``(B, F)``."""
    a = jnp.real(a)
    return a.reshape(a.shape[0], -1)


def site_cells(rho, lat: Lattice):
    """Site array ``(..., N, k)`` -> ``(..., *lat.dims, n_orb * k)`` (real part)."""
    rho = jnp.real(rho)
    lead = rho.shape[:-2]
    return rho.reshape(*lead, *lat.dims, -1)


def site_flat(rho):
    """Site array ``(..., N, k)`` -> ``(..., N * k)`` (real part)."""
    rho = jnp.real(rho)
    return rho.reshape(*rho.shape[:-2], -1)


def hoppings_cells(hop):
    """SSH ``hoppings`` ``(..., R + 2, L)`` (bond amplitudes per range, then onsite A, B; see
    :mod:`tnn.data`) -> ``(..., L, R + 2)`` real: one cell per row."""
    return jnp.real(jnp.swapaxes(hop, -1, -2))


def chiral_block_to_matrix(U, lat: Lattice):
    """A chain's ``(..., L, L)`` A-B block (the stored SSH ``projector``) as the ``(..., 2L, 2L)``
    matrix with ``M[A_i, B_j] = U_ij`` and zeros elsewhere, so the matrix encodings apply."""
    L = lat.n_cells
    M = jnp.zeros((*U.shape[:-2], 2 * L, 2 * L), dtype=U.dtype)
    return M.at[..., 0::2, 1::2].set(U)


def conjugate_channels(x):
    """The encoding of ``conj(M)`` from the encoding ``x`` of ``M``: negate the Im channels."""
    sign = jnp.tile(jnp.asarray([1.0, -1.0], dtype=x.dtype), x.shape[-1] // 2)
    return x * sign


def reflect_chiral(x):
    """The ``chiral`` encoding of the mirror image ``n -> L-1-n`` of the chain.

    ``t'_r(n) = t_{-r}(L-1-n)``: reverse the cell axis and the range axis (keeping (Re, Im) order).
    ``x`` has shape ``(..., L, (2R+1)*2)``.
    """
    y = x.reshape(*x.shape[:-1], -1, 2)
    y = jnp.flip(y, axis=(-3, -2))
    return y.reshape(x.shape)


def reflect_sites(x):
    """The ``cells`` encoding of a chain's site array after the mirror ``n -> L-1-n`` (A stays A, B
    stays B): reverse the cell axis of ``x`` ``(..., L, n_orb * k)``."""
    return jnp.flip(x, axis=-2)
