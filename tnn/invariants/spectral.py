"""The eigensystem and what every eigensystem-based invariant reads from it besides its value.

``eigh`` with a degeneracy-safe JVP, the spectral (bulk) gap at half filling, and the glue to the
validity certificate of :mod:`tnn.validity` (tail moment, bulk and mobility gaps, NaN input).
Conventions: those of :mod:`tnn.invariants` (docs/conventions.md).
"""

from __future__ import annotations

import functools

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks, validity
from tnn import contractions as tc
from tnn.invariants.checks import check_eigensystem, window_trim
from tnn.lattice import ANY_KIND, Lattice, check_lattice

#: Relative eigenvalue splitting below which :func:`eigh` treats a pair as degenerate in its JVP.
DEGENERACY_TOL = 1e-9
#: Default gap tolerance in units of ``E_max / L_lin`` (:func:`default_gap_tol`): open, periodic.
GAP_TOL_FACTOR = {False: 2.0, True: 1.0}
#: A state is a bulk state if its weight in the window is >= this fraction of the window's share.
BULK_WEIGHT_FRACTION = 0.5

# ------------------------------------------------------------------------------ linear algebra
@jax.custom_jvp
def eigh(H):
    """``jnp.linalg.eigh`` (``E`` ascending ``(N,)``, ``V`` ``(N, N)``) with a gauge-safe JVP.

    The JVP is the standard first-order perturbation theory, ``dV = V (F o V^dag dH V)`` with
    ``F_ij = 1/(E_j - E_i)``, except that pairs with ``|E_i - E_j| <= 1e-9 * max|E|`` get ``F_ij = 0``
    (``jnp.linalg.eigh`` gives inf/NaN there). Rotations inside a degenerate eigenspace are a gauge
    freedom; every function of a projector onto whole eigenspaces (all invariants here) has the exact
    derivative this way.
    """
    E, V = jnp.linalg.eigh(H)
    return E, V


@eigh.defjvp
def _eigh_jvp(primals, tangents):
    (H,), (dH,) = primals, tangents
    E, V = eigh(H)
    dH = (dH + jnp.conj(dH.T)) / 2
    Vh = jnp.conj(V.T)
    dHt = Vh @ dH @ V
    dE = jnp.real(jnp.diagonal(dHt)).astype(E.dtype)
    diff = E[None, :] - E[:, None]
    tol = DEGENERACY_TOL * jnp.maximum(jnp.max(jnp.abs(E)), jnp.finfo(E.dtype).tiny)
    safe = jnp.abs(diff) > tol
    F = jnp.where(safe, 1.0 / jnp.where(safe, diff, 1.0), 0.0).astype(dHt.dtype)
    dV = V @ (F * dHt)
    return (E, V), (dE, dV.astype(V.dtype))


@jax.jit
def eigh_jit(H):
    return eigh(H)


# ------------------------------------------------------------------------------ gaps
def default_gap_tol(lat: Lattice, e_max):
    """Size-aware spectral gap tolerance ``c * e_max / min(lat.dims)``, ``e_max`` the largest ``|E|``;
    ``c = 2`` for open samples, ``c = 1`` for periodic ones. The default of earlier versions; today
    the validity certificate (:mod:`tnn.validity`) decides by default, and this is a value to pass
    as ``gap_tol`` with ``validity="spectral"`` for the spectral test (which both misses near-critical samples with a
    finite-size gap and drops mobility-gapped disordered ones; ``experiments/bench_labels.py``).

    Open samples: the finite-size bulk gap at a transition is ``~ pi v_F / L`` (measured
    ``gap * L / E_max`` = 1.55 SSH, 1.17-1.29 QWZ), deep in a phase ``O(1)``. Periodic samples: at a
    transition the gap is exactly 0 when the closing momentum is on the ``2 pi / L`` grid, and
    otherwise at least ``~ pi v_F / L`` (a gapped finite sample, which no size-aware rule can tell from
    a moderately deep phase on a small sample), so the smaller factor keeps e.g. QWZ ``m = +-2.5`` on
    8 x 8 (gap 1, ``E_max = 4.5``) unflagged.
    """
    return GAP_TOL_FACTOR[bool(lat.pbc)] * e_max / min(lat.dims)


def is_gapped(gap, gap_tol):
    """``gap >= gap_tol`` (elementwise; works on traced arrays)."""
    return jnp.asarray(gap) >= gap_tol


def _bulk_gap_from_weights(E, weights, n_occ: int, share: float):
    """Gap between the lowest empty and the highest occupied bulk state (index split at ``n_occ``)."""
    n = E.shape[0]
    bulk = weights >= BULK_WEIGHT_FRACTION * share
    occ = jnp.arange(n) < n_occ
    hi = jnp.min(jnp.where(bulk & ~occ, E, jnp.inf))
    lo = jnp.max(jnp.where(bulk & occ, E, -jnp.inf))
    gap = hi - lo
    return jnp.where(jnp.isfinite(gap), gap, 0.0)


def _site_window(lat: Lattice, trim) -> np.ndarray:
    return tc.site_mask_from_cells(lat, tc.bulk_cells(lat, trim))


def _gap_from_eigh(E, V, lat: Lattice, trim, n_occ: int):
    E = jax.lax.stop_gradient(E)
    if lat.pbc:
        return E[n_occ] - E[n_occ - 1]
    mask = _site_window(lat, trim)
    V = jax.lax.stop_gradient(V)
    w = jnp.sum(jnp.abs(V[mask]) ** 2, axis=0)
    return _bulk_gap_from_weights(E, w, n_occ, mask.mean())


def spectral_gap(E, V=None, lat: Lattice | None = None, trim=None):
    """Spectral gap at the (half-filling) Fermi level from an eigensystem.

    Args:
      E: ``(N,)`` ascending eigenvalues. V: ``(N, N)`` eigenvectors (needed for open samples).
      lat: the lattice; ``None`` or periodic gives ``E[N//2] - E[N//2 - 1]``. Open samples give the
        bulk gap: only states with at least half of the window's share of weight in the bulk window
        (``trim``, default ``dims // 4`` per direction) count.

    Returns:
      Scalar gap (not differentiated).
    """
    E = _checks.as_param("E", E, None)
    if E.ndim != 1:
        raise ValueError(f"Argument `E` must have shape (N,), but has shape {E.shape}.")
    n = E.shape[0]
    if lat is None or lat.pbc:
        if lat is not None and lat.n_sites != n:
            raise ValueError(f"Argument `E` must have shape ({lat.n_sites},) to match the lattice, but has shape {E.shape}.")
        Es = jax.lax.stop_gradient(E)
        return Es[n // 2] - Es[n // 2 - 1]
    check_lattice(lat, ANY_KIND, "a spectral gap")
    if V is None:
        raise ValueError("Argument `V` must be given for an open lattice (the bulk gap needs the eigenvectors).")
    E, V = check_eigensystem(E, V, lat)
    return _gap_from_eigh(E, V, lat, window_trim(lat, trim), n // 2)


def certify_eigh(value, E, V, gap_tol, lat: Lattice, window, tail, tail_max, integer_value=None, commutator=None,
                 localizer=None):
    """Certificate of a value computed from an eigensystem: bulk gap over ``window`` (open samples),
    ``E_max = max |E|``, NaN input from ``E`` and ``V``; ``commutator``: the Bott index's test,
    ``localizer``: ``(index, gap)`` of the localizer test (:func:`tnn.validity.certify`)."""
    n_filled = n_occ(lat)
    gap = _gap_from_eigh(E, V, lat, window, n_filled)
    Es, Vs = jax.lax.stop_gradient(E), jax.lax.stop_gradient(V)
    e_max = jnp.max(jnp.abs(Es))
    cw = jnp.sum((jnp.abs(Vs) ** 2).reshape(lat.n_cells, lat.n_orb, -1), axis=1)
    ext = validity.extended_states(cw, lat, boundary(lat, window))
    if not lat.pbc:
        # Bulk states only (as the bulk gap): the chiral edge modes of an open Chern insulator are
        # extended along the edge and fill the gap, but they are not where the window reads.
        cells = tc.bulk_cells(lat, window)
        ext = ext & (jnp.sum(jnp.where(cells[:, None], cw, 0.0), axis=0) >= BULK_WEIGHT_FRACTION * cells.mean())
    occ = jnp.arange(Es.shape[0]) < n_filled
    mgap = jnp.min(jnp.where(ext & ~occ, Es, jnp.inf)) - jnp.max(jnp.where(ext & occ, Es, -jnp.inf))
    return validity.certify(value, tail=tail, tail_max=tail_max, gap=gap, e_max=e_max, gap_tol=gap_tol,
                            nan_input=not_finite(E, V), integer_value=integer_value, mobility_gap=mgap,
                            mobility_min=validity.mobility_tol(lat, e_max), commutator=commutator,
                            localizer=localizer)


def projector_tail(W, lat: Lattice, window):
    rows, weights = validity.projector_reference(lat, window, boundary(lat, window))
    return validity.projector_tail(jax.lax.stop_gradient(W), rows, weights)


def n_occ(lat: Lattice) -> int:
    return lat.n_sites // 2


def boundary(lat: Lattice, trim) -> float:
    """``D`` of :func:`tnn.validity.boundary_distance` without the size check (done at the API edge)."""
    return max(min(lat.dims) / 4.0 if lat.pbc else float(min(trim)), 0.5)


def not_finite(*arrays):
    return jnp.logical_not(functools.reduce(jnp.logical_and, [jnp.all(jnp.isfinite(a)) for a in arrays]))
