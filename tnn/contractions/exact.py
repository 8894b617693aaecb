r"""The exact tensors of the networks of :mod:`tnn.contractions.networks`, built from a static lattice
with NumPy: bulk windows, winding kernels, spectral weights and occupations, coordinates, Bott phases,
Kitaev sectors. Index conventions: :mod:`tnn.contractions` (docs/conventions.md).
"""

from __future__ import annotations

import functools

import numpy as np

from tnn import _checks
from tnn.lattice import Lattice

# ------------------------------------------------------------------------------- exact tensors
def default_trim(n: int) -> int:
    """Default number of cells trimmed on each side of an open direction of ``n`` cells: ``n // 4``."""
    return n // 4


def check_trim(lat: Lattice, trim) -> tuple[int, ...]:
    """``trim`` (None, int, or one int per direction) as a tuple of ints, validated against ``lat``."""
    if trim is None:
        return tuple(default_trim(n) for n in lat.dims)
    if _checks.is_int(trim):
        trim = (_checks.check_int("trim", trim, 0),) * lat.ndim
    trim = _checks.check_ints("trim", trim, 0, length=lat.ndim, error=lambda name, msg, value: _checks.argument_error(
        name, "must be an int >= 0 or a " + msg.removeprefix("must be a "), value))
    for t, n in zip(trim, lat.dims):
        if 2 * t >= n:
            raise _checks.argument_error(
                "trim", f"must be an int in [0, {(n - 1) // 2}] along a direction of {n} cells (2 * trim < {n}, "
                "so that the bulk window is not empty)", t)
    return trim


@functools.lru_cache(maxsize=None)
def _bulk_cells(lat: Lattice, trim: tuple[int, ...]) -> np.ndarray:
    cc = lat.cell_coords
    keep = np.ones(lat.n_cells, dtype=bool)
    for d, (t, n) in enumerate(zip(trim, lat.dims)):
        keep &= (cc[:, d] >= t) & (cc[:, d] < n - t)
    keep.setflags(write=False)
    return keep


def bulk_cells(lat: Lattice, trim=None) -> np.ndarray:
    """Boolean ``(n_cells,)`` mask of the bulk window: cells with ``trim <= x_d < dims_d - trim``.

    ``trim``: None (default :func:`default_trim`, ``dims // 4`` per direction), an int, or one int
    per direction. Periodic samples have no edges: with ``trim=None`` every cell is bulk.
    """
    if lat.pbc and trim is None:
        trim = (0,) * lat.ndim
    return _bulk_cells(lat, check_trim(lat, trim))


def bulk_window(lat: Lattice, trim=None) -> np.ndarray:
    """The bulk window of :func:`bulk_cells` as a float map of shape ``lat.shape``."""
    return bulk_cells(lat, trim).reshape(lat.shape).astype(np.float64)


@functools.lru_cache(maxsize=None)
def _winding_kernel(lat: Lattice, trim: tuple[int, ...]) -> np.ndarray:
    L = lat.dims[0]
    x = np.arange(L, dtype=np.float64)
    d = x[:, None] - x[None, :]
    if lat.pbc:
        d = np.mod(d + L / 2, L) - L / 2
        mask = np.ones(L)
    else:
        mask = _bulk_cells(lat, trim).astype(np.float64)
    K = (mask[:, None] * d) / mask.sum()
    K.setflags(write=False)
    return K


def exact_winding_kernel(lat: Lattice, trim=None) -> np.ndarray:
    r"""The exact distance kernel ``K_ij = mask_i d(x_i, x_j) / L'``, shape ``(L, L)``.

    ``W = sum_ij K_ij |U_ij|^2`` is then the real-space winding number of docs/conventions.md,
    ``W = (1/L') sum_{i in A} sum_{j in B} (x_i - x_j) |U_ij|^2``, with ``x`` the cell index (the
    overall sign is the one for which the clean value equals :func:`tnn.kspace.winding_number`).

    * open chain: ``d = x_i - x_j``, ``mask_i = 1`` on the bulk cells ``trim <= i < L - trim``
      (default ``trim = L // 4``), ``L'`` their number. The full trace of an open chain is
      identically zero; the bulk trace is an integer deep in a phase.
    * periodic chain: minimum image ``d = ((x_i - x_j + L/2) mod L) - L/2``, every cell, ``L' = L``
      (``trim`` must be None or 0).
    """
    if lat.ndim != 1:
        raise ValueError(f"Argument `lat` must be a chain (1D) for the winding number, got {lat!r}.")
    if lat.pbc:
        if trim not in (None, 0):
            raise ValueError(f"Argument `trim` applies to open chains only (periodic chains use all cells), got {trim!r}.")
        trim = (0,)
    return _winding_kernel(lat, check_trim(lat, trim))


def exact_mixing(n_orb: int = 2) -> np.ndarray:
    """Exact sublattice mixing ``(2, n_orb)``: row 0 selects orbital A, row 1 orbital B (identity)."""
    return np.eye(2, n_orb)


def exact_winding_weights(n_states: int, n_occ: int | None = None) -> np.ndarray:
    """``s_n = sign(E_n - E_F)`` for ascending eigenvalues at half filling: ``-1`` for the ``n_occ``
    lowest states (default ``n_states // 2``), ``+1`` above. Shape ``(n_states,)``.

    Splitting by index rather than by the sign of ``E_n`` keeps the two zero modes of an open
    topological chain (``|E| ~ 1e-16``, sign is noise) one on each side; either way they live on
    the edges, outside the bulk trace.
    """
    n_occ = n_states // 2 if n_occ is None else n_occ
    return np.where(np.arange(n_states) < n_occ, -1.0, 1.0)


def exact_occupation(n_states: int, n_occ: int | None = None) -> np.ndarray:
    """Occupations ``f_n`` ``(n_states,)``: 1 for the ``n_occ`` lowest states (default half filling,
    ``n_states // 2``, the lower half of the bands as in :mod:`tnn.kspace`), else 0. A step at a
    Fermi level in the half-filling gap (``E_F = 0`` for the QWZ, SSH and ``cos phi = 0`` Haldane
    models)."""
    n_occ = n_states // 2 if n_occ is None else n_occ
    return (np.arange(n_states) < n_occ).astype(np.float64)


def exact_coordinates(lat: Lattice) -> tuple[np.ndarray, ...]:
    """Cartesian site coordinates, one ``(N,)`` vector per direction (``lat.positions`` columns).

    For the chain this is the cell index (docs/conventions.md: never the site index)."""
    return tuple(np.ascontiguousarray(lat.positions[:, d]) for d in range(lat.ndim))


def exact_marker_scale(lat: Lattice) -> float:
    """``4 pi / A_cell``, the prefactor of the local Chern marker."""
    return 4.0 * np.pi / lat.cell_area


def fractional_coordinates(lat: Lattice) -> np.ndarray:
    """Site coordinates along the Bravais vectors, ``(N, d)``: ``positions @ inv(bravais)``.

    Square: the Cartesian ones; honeycomb: ``(x, y) + (0, 0)`` on A and ``+ (1/3, 1/3)`` on B."""
    return lat.positions @ np.linalg.inv(lat.bravais)


@functools.lru_cache(maxsize=None)
def _bott_phases(lat: Lattice) -> tuple[np.ndarray, np.ndarray]:
    fr = fractional_coordinates(lat)
    out = tuple(np.exp(2j * np.pi * fr[:, d] / lat.dims[d]) for d in range(2))
    for o in out:
        o.setflags(write=False)
    return out


def exact_bott_phases(lat: Lattice) -> tuple[np.ndarray, np.ndarray]:
    """``(exp(2 pi i X1 / L1), exp(2 pi i X2 / L2))`` with ``X1, X2`` the fractional coordinates
    along ``a1, a2`` (:func:`fractional_coordinates`); each ``(N,)`` complex."""
    if lat.ndim != 2:
        raise ValueError(f"Argument `lat` must be a 2D lattice for the Bott index, got a {lat.kind} lattice.")
    return _bott_phases(lat)


def default_kitaev_radius(lat: Lattice) -> float:
    """Default disc radius of the Kitaev sum: ``0.4 *`` the smallest linear extent of the sample
    (``min_d dims_d * |a_d| * sin`` of the angle between the Bravais vectors; e.g. 8 for a 20 x 20
    square sample). Large against the correlation length deep in a phase, and for open samples it
    keeps the disc ~0.1 of the size away from the edges."""
    a = lat.bravais
    sin = abs(np.linalg.det(a)) / (np.linalg.norm(a[0]) * np.linalg.norm(a[1]))
    return 0.4 * min(lat.dims) * sin


@functools.lru_cache(maxsize=None)
def _kitaev_sectors(lat: Lattice, radius: float) -> tuple[np.ndarray, ...]:
    a = lat.bravais
    # The centre of the sample, nudged off every site and every bond direction so that no site sits
    # on a sector boundary (angles 0, 2pi/3, 4pi/3) by accident.
    centre_frac = (np.asarray(lat.dims, dtype=float) - 1.0) / 2.0 + np.array([0.1234, 0.0567])
    fr = fractional_coordinates(lat)
    delta_frac = fr - centre_frac
    if lat.pbc:
        delta_frac = np.mod(delta_frac + np.asarray(lat.dims) / 2.0, lat.dims) - np.asarray(lat.dims) / 2.0
    delta = delta_frac @ a
    r = np.linalg.norm(delta, axis=1)
    theta = np.mod(np.arctan2(delta[:, 1], delta[:, 0]), 2 * np.pi)
    disc = r < radius
    out = tuple(((theta >= k * 2 * np.pi / 3) & (theta < (k + 1) * 2 * np.pi / 3) & disc).astype(np.float64) for k in range(3))
    for o in out:
        o.setflags(write=False)
    return out


def exact_kitaev_sectors(lat: Lattice, radius: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indicator vectors ``(a, b, c)``, each ``(N,)``, of three 120-degree sectors of a disc.

    The disc of radius ``radius`` (default :func:`default_kitaev_radius`) is centred near the middle
    of the sample (offset by ``(0.1234, 0.0567)`` cells along ``a1, a2`` so that no site lies on a
    sector boundary); sector ``k`` holds the sites at polar angle ``[2 pi k / 3, 2 pi (k+1) / 3)``
    around the centre (counter-clockwise order A, B, C). Periodic samples use the minimum image.
    """
    if lat.ndim != 2:
        raise ValueError(f"Argument `lat` must be a 2D lattice for the Kitaev formula, got a {lat.kind} lattice.")
    rmax = default_kitaev_radius(lat) / 0.4 / 2.0
    if radius is None:
        radius = default_kitaev_radius(lat)
    radius = _checks.check_real(
        "radius", radius, 0, rmax, lo_open=True,
        error=lambda name, msg, value: _checks.argument_error(
            name, msg + " (up to half the smallest linear extent of the sample)", value),
    )
    return _kitaev_sectors(lat, radius)


def site_mask_from_cells(lat: Lattice, cells: np.ndarray) -> np.ndarray:
    """A per-cell mask ``(n_cells,)`` as a per-site mask ``(N,)``."""
    return np.repeat(np.asarray(cells), lat.n_orb)
