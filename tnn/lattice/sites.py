r"""A user's own lattice from per-site arrays: :func:`from_sites` (fits the Bravais vectors and orbital
offsets of any geometry; the library's kinds where they match)."""

from __future__ import annotations

import dataclasses

import numpy as np

from tnn import _checks
from tnn.lattice.geometry import KIND_BASIS, KIND_VECTORS, Lattice, bravais, float_rows

__all__ = ["from_sites"]


def _chain_geometry(x: np.ndarray, cells: np.ndarray, sub: np.ndarray) -> tuple[str | None, float]:
    """``("chain", a)`` when the sites sit at ``a * cell + offset[sublattice]`` with ``a > 0`` and one
    offset per sublattice (any), else ``(None, 1.0)``."""
    tol = 1e-6 * max(1.0, float(np.max(np.abs(x))))
    span = int(cells.max() - cells.min())
    a = 1.0
    if span > 0:
        s0 = sub == 0
        lo, hi = np.argmin(np.where(s0, cells, np.inf)), np.argmax(np.where(s0, cells, -np.inf))
        a = float(x[hi] - x[lo]) / float(cells[hi] - cells[lo])
    if not a > tol:
        return None, 1.0
    for s in (0, 1):
        off = x[sub == s] - a * cells[sub == s]
        if off.size and np.ptp(off) > tol:
            return None, 1.0
    return "chain", a


def _fit_bravais(pos: np.ndarray, cells: np.ndarray, sub: np.ndarray, n_orb: int, vectors) -> tuple[np.ndarray, np.ndarray]:
    """Bravais vectors ``(d, d)`` and orbital offsets ``(n_orb, d)`` with ``pos = cells @ A + off[sub]``
    (least squares; ``vectors`` given: only the offsets). ValueError where no lattice fits."""
    n, d = pos.shape
    onehot = np.eye(n_orb)[sub]
    if vectors is None:
        if np.any(np.ptp(cells, axis=0) == 0):
            raise ValueError("Argument `cells` spans a single cell along a direction, so the Bravais vector along it "
                             "cannot be read from the positions: give `vectors`.")
        sol = np.linalg.lstsq(np.concatenate([cells, onehot], axis=1).astype(np.float64), pos, rcond=None)[0]
        A, off = sol[:d], sol[d:]
    else:
        A = np.asarray(float_rows("vectors", vectors, (d, d)))
        off = np.linalg.lstsq(onehot, pos - cells @ A, rcond=None)[0]
    tol = 1e-6 * max(1.0, float(np.max(np.abs(pos))))
    if np.max(np.abs(cells @ A + off[sub] - pos)) > tol:
        raise ValueError("Argument `positions` does not fit a Bravais lattice for the given `cells` and `sublattice`: "
                         "every site must sit at cell @ vectors + an offset of its orbital, the same in every cell.")
    if abs(np.linalg.det(A)) <= tol:
        raise ValueError("Argument `positions` gives linearly dependent Bravais vectors for the given `cells`.")
    return A, off - off[0]  # no global translation: orbital 0 at the cell's origin


def from_sites(positions, cells, sublattice, box=None, vectors=None) -> Lattice:
    r"""A :class:`Lattice` for a user's own Hamiltonian, from per-site arrays in any site order.

    Args:
      positions: Cartesian site positions ``(N,)`` or ``(N, d)``, ``d`` = 1 or 2.
      cells: integer cell coordinates of each site ``(N,)`` or ``(N, d)`` (any offset) along the
        Bravais vectors.
      sublattice: ``(N,)`` the orbital index of each site in its cell, ``0 .. n_orb - 1``: every cell
        holds each orbital once (a chain's 0 is A and 1 is B: the chiral operator of the winding number).
      box: None for an open sample; for a periodic one the periodic supercell: ``(d,)`` its lengths
        along the Bravais directions (``dims[i] * |a_i|``, e.g. ``(L,)`` for a chain) or ``(d, d)``
        its vectors ``dims[i] * a_i`` (rows).
      vectors: the Bravais vectors ``(d, d)``, only needed when ``cells`` spans a single cell along a
        direction (else they are read from the positions).

    Any Bravais lattice with any basis is welcome, up to a global translation: the sites must sit at
    ``cells @ vectors + offset[sublattice]``, one offset per orbital. Where that geometry is one of the
    library's (``docs/conventions.md``) the lattice is of that kind: a chain (``d = 1``, two orbitals:
    any cell length ``a > 0``, cells numbered along ``+x``, each site anywhere in its cell -- B at
    ``n + 1/2`` as usually drawn, or at ``n``; the winding number reads cell coordinates, so every such
    drawing gives the same ``W``; a periodic chain's ``box`` is then ``(L a,)``), a square lattice
    (``a = 1``, both orbitals at the cell's position) or a honeycomb lattice (``a1 = (1, 0)``,
    ``a2 = (1/2, sqrt(3)/2)``, B at ``(1/2, sqrt(3)/6)`` from A). Any other is a ``"bravais"`` lattice
    (:func:`bravais`) with the fitted vectors and offsets (orbital 0 at the cell's origin). Cells must
    fill a full ``L`` or ``lx x ly`` block. The site order is free: the returned lattice carries it
    (``order``), and every invariant reads its ``H`` (``(N, N)``, dense or ``scipy.sparse``) and
    eigenvectors in that order, with the same checks as for a built-in lattice. The builders of
    :mod:`tnn.hamiltonians` write the library's order and refuse such a lattice.

    Raises ``ValueError`` naming the argument when shapes, labels, cells or positions do not fit.
    """
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim == 1:
        pos = pos[:, None]
    if pos.ndim != 2 or pos.shape[1] not in (1, 2) or pos.shape[0] == 0:
        raise ValueError(f"Argument `positions` must have shape (N,) or (N, d) with d = 1 or 2, but has shape {np.shape(positions)}.")
    n, d = pos.shape
    _checks.check_finite("positions", pos)
    cl = np.asarray(cells)
    if cl.ndim == 1:
        cl = cl[:, None]
    if cl.shape != (n, d):
        raise ValueError(f"Argument `cells` must have shape ({n}, {d}) to match `positions`, but has shape {np.shape(cells)}.")
    if cl.size and not (np.issubdtype(cl.dtype, np.integer) or np.all(cl == np.rint(cl))):
        raise ValueError("Argument `cells` must hold integer cell coordinates.")
    cl = np.rint(cl).astype(np.int64)
    sub = np.asarray(sublattice)
    if sub.shape != (n,):
        raise ValueError(f"Argument `sublattice` must have shape ({n},), but has shape {sub.shape}.")
    if not (np.issubdtype(sub.dtype, np.integer) or np.all(sub == np.rint(sub))) or np.any(sub < 0):
        raise ValueError("Argument `sublattice` must hold orbital indices 0, 1, ... (0 is A and 1 is B on a chain).")
    sub = np.rint(sub).astype(np.int64)
    n_orb = int(sub.max()) + 1
    if len(np.unique(sub)) != n_orb:
        raise ValueError(f"Argument `sublattice` must use every orbital index 0 .. {n_orb - 1}, got {sorted(set(sub.tolist()))}.")
    cl = cl - cl.min(axis=0)
    dims = tuple(int(x) + 1 for x in cl.max(axis=0))
    if n != n_orb * int(np.prod(dims)):
        raise ValueError(f"Argument `cells` must fill a full block of {dims} cells with each of the {n_orb} orbitals once "
                         f"({n_orb * int(np.prod(dims))} sites), got {n} sites.")
    kind, scale = None, 1.0
    if n_orb == 2 and vectors is None:
        if d == 1:
            kind, scale = _chain_geometry(pos[:, 0], cl[:, 0], sub)
        else:
            for k in ("square", "honeycomb"):
                expect = cl @ KIND_VECTORS[k] + KIND_BASIS[k][sub]
                shift = pos[0] - expect[0]
                if np.max(np.abs(pos - shift - expect)) <= 1e-6 * max(1.0, float(np.max(np.abs(pos)))):
                    kind = k
                    break
    A, off = (KIND_VECTORS[kind] * scale, None) if kind is not None else _fit_bravais(pos, cl, sub, n_orb, vectors)
    pbc = box is not None
    if pbc:
        want = np.asarray(dims, dtype=np.float64)[:, None] * A
        b = np.asarray(box, dtype=np.float64)
        b = np.diag(b) @ (A / np.linalg.norm(A, axis=1, keepdims=True)) if b.ndim <= 1 else b
        if b.shape != want.shape or not np.allclose(b, want, atol=1e-6):
            raise ValueError(f"Argument `box` must be the supercell {want.tolist()} (dims x Bravais vectors) of these "
                             f"sites, got {np.asarray(box).tolist()}.")
    lat = Lattice(kind, dims, pbc) if kind is not None else bravais(A, off, dims, pbc)
    lib = lat.site_index(cl, sub)
    if len(np.unique(lib)) != n:
        raise ValueError("Arguments `cells`, `sublattice` must give every (cell, sublattice) pair exactly once.")
    order = np.empty(n, dtype=np.int64)
    order[lib] = np.arange(n)
    return dataclasses.replace(lat, order=tuple(int(i) for i in order))
