r"""Real-space topological invariants: winding number, local Chern marker, Bott index, Chern number.

All functions are batchless and pure: one Hamiltonian ``H`` of shape ``(N, N)`` (``N = lat.n_sites``,
site order of :mod:`tnn.lattice`), or one eigensystem ``(E, V)`` from ``eigh`` (``E`` ascending
``(N,)``, ``V`` columns ``(N, N)``), and a static lattice. They run under ``jit`` (lattice, ``trim``,
``window``, ``radius``, ``method`` and ``return_gap`` static) and ``vmap`` (over stacks of ``H``, or over
the parameters and keys that build them), in float64 when :func:`tnn.enable_x64` is on. Each is the
fast path of a network of :mod:`tnn.contractions` evaluated with the exact tensors; the tests check
that the two agree (to 1e-10). The fast paths are kept for the public functions because they are
faster than the networks contracted through ``tensornetwork.ncon`` (measured 1.6x for the winding
number, 2.3x for the marker: real-arithmetic products and only the occupied half of ``V``); the
networks, with trainable tensors, are what the "topo" model uses.

Conventions (docs/conventions.md)
---------------------------------
* Occupied states: the lower half of the spectrum, ``n_occ = N // 2`` (half filling, as
  :mod:`tnn.kspace`, which takes the lower band). For the SSH, QWZ and ``cos(phi) = 0`` Haldane models
  this is the step at ``E_F = 0``; for a Haldane model with ``cos(phi) != 0`` the half-filling gap is
  shifted away from 0 and this is still the invariant of the lower band.
* Winding number (class AIII, chain): ``W = (1/L') sum_{i in A} sum_{j in B} (x_i - x_j) |U_ij|^2``,
  ``U = P_A sign(H) P_B`` (``L x L``), ``x`` the cell index. Open chains: ``i`` restricted to the bulk
  cells ``trim <= i < L - trim``, default ``trim = L // 4``, ``L'`` their number. Periodic chains:
  every cell, minimum-image ``x_i - x_j``. The overall sign is the one for which the clean value
  equals :func:`tnn.kspace.winding_number` (docs/conventions.md writes ``-(1/L') Tr'{...}`` "up to the sign
  fixed by the rule"; with ``H[A_{n+r}, B_n] = t_r`` the rule gives ``+``).
* Local Chern marker (open samples): ``C(r) = (4 pi / A_cell) Im sum_{o in r} <r o|P X P Y P|r o>``
  with Cartesian ``X, Y``; ``chern_number(method="marker")`` averages it over the bulk window
  (cells with ``trim_d <= x_d < dims_d - trim_d`` along each Bravais direction, default
  ``trim_d = dims_d // 4``: the central half of the sample along each direction).
* Bott index (periodic samples): ``B = -(1/2 pi) Im Tr log(U_1 U_2 U_1^dag U_2^dag)``,
  ``U_d = W^dag exp(2 pi i X_d / L_d) W`` with fractional coordinates ``X_d`` along ``a_d`` (the
  minus is the sign for which ``B = C`` of :mod:`tnn.kspace`).
* Kitaev (open or periodic): ``nu = -12 pi i sum_{j in A, k in B, l in C} (P_jk P_kl P_lj - P_jl P_lk P_kj)``
  over three 120-degree sectors (counter-clockwise) of a disc of radius ``R`` around the centre of the
  sample (default ``R = 0.4 * smallest linear extent``, :func:`tnn.contractions.default_kitaev_radius`);
  the overall sign (opposite to Kitaev's paper, whose Chern-number convention differs) makes
  ``nu = C`` of :mod:`tnn.kspace`.

Validity
--------
A value is returned only where it is the invariant: by default (``gap_tol=None``) each function
computes the certificate of :mod:`tnn.validity` from the same eigenvectors -- the share of the
invariant's moment carried by ground-state correlations that reach farther than the window's
distance to the boundary (``trim`` cells on an open sample, a quarter of the size on a periodic
one), plus the distance to an integer, NaN input, and a bulk state at the Fermi level -- and returns
NaN where it fails; ``return_certificate=True`` returns the :class:`tnn.validity.Certificate` with
the reason. A mobility gap suffices: strongly bond-disordered chains whose spectral gap has closed
keep their value, while near-critical samples with a sizeable finite-size gap are flagged. The
measured rate of valid-but-wrong labels against k space is 0 over 10^4 samples per preset and size
(``experiments/bench_labels.py``). Samples too small for a window one cell from the boundary raise
``ValueError``.

The spectral (bulk) gap is still computed and reported: for periodic samples
``E[n_occ] - E[n_occ - 1]`` (the winding number: ``2 min s`` over the singular values of the chiral
block); for open samples a **bulk** gap, restricted to states whose weight in the bulk window is at
least half the window's share, ``sum_{i in window} |psi(i)|^2 >= 0.5 * N_window / N`` (this discards
the edge modes of open topological samples). An explicit ``gap_tol`` selects the spectral test of
earlier versions instead of the certificate (NaN below it; :func:`default_gap_tol` is its old
size-aware default); ``gap_tol=0.0`` returns raw values.

Differentiability
-----------------
The winding number uses the polar factor of the chiral block ``h = H[0::2, 1::2]``,
``U = X Yh`` from one SVD ``h = X diag(s) Yh`` (LAPACK ``gesdd``; every mode kept except exact zero
modes at ``s <= 1e-12 s_max``, for which ``sign(0) = 0`` -- the eigensystem route does the same, so
the two agree to rounding, near-zero bulk modes included), with a custom JVP
``dU = X F Yh``, ``F_ij = (A_ij - conj(A_ji)) / (s_i + s_j)``, ``A = X^dag dh Y``: finite for
degenerate singular values (clean periodic chains have ``s(k) = s(-k)``); pairs of modes both below
``1e-6 s_max`` (edge modes of open topological chains, whose mutual pairing is ill-conditioned) are
held fixed. Everything from ``eigh`` uses :func:`eigh`, whose JVP drops the terms of
(near-)degenerate pairs: exact for the projector-based invariants here, whose value does not depend
on the basis inside a degenerate eigenspace, and finite where ``jnp.linalg.eigh``'s gradient is NaN.
Gaps and certificates are not differentiated (``stop_gradient``); the Bott index, an integer, has
gradient 0. Measured on a clean periodic chain (L = 30, v/w = 0.9, derivative of a bulk-cell winding
density): ``jnp.linalg.svd``'s own gradient is finite but wrong (-0.0131 against -0.0102 from finite
differences), ``jnp.linalg.eigh``'s is NaN, the routes here match finite differences to 1e-9.
"""

from __future__ import annotations

import functools

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks, validity
from tnn import contractions as tc
from tnn.lattice import Lattice

__all__ = [
    "winding_number",
    "winding_number_from_eigh",
    "winding_number_from_svd",
    "winding_density",
    "local_chern_marker",
    "local_chern_marker_from_eigh",
    "bott_index",
    "bott_index_from_eigh",
    "chern_number",
    "chern_number_from_eigh",
    "kitaev_chern_number",
    "spectral_gap",
    "default_gap_tol",
    "is_gapped",
    "eigh",
    "polar_factor",
    "chiral_block",
    "CHERN_METHODS",
    "winding_polar_energies",
    "GRAD_CUTOFF",
]

CHERN_METHODS = ("marker", "bott", "kitaev")
#: Relative size below which singular values of the chiral block are held fixed in the polar JVP.
GRAD_CUTOFF = 1e-6
#: Relative size (singular value or ``|E|``) at or below which a mode is an exact zero mode to working
#: precision: ``sign(0) = 0``, left out of ``U`` by both winding routes.
ZERO_MODE_FLOOR = 1e-12
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
def _polar(h, rows):
    return _svd_polar(h, rows)


@_polar.defjvp
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
    return _polar(h, (0, h.shape[0]))[0]


def chiral_block(H):
    """The chiral block ``h = H[A, B] = H[0::2, 1::2]`` ``(L, L)`` of a chain Hamiltonian ``(2L, 2L)``;
    ``H = [[0, h], [h^dag, 0]]`` in (A, B) order when chiral symmetry holds."""
    return H[0::2, 1::2]


# ------------------------------------------------------------------------------ gaps
def default_gap_tol(lat: Lattice, e_max):
    """Size-aware spectral gap tolerance ``c * e_max / min(lat.dims)``, ``e_max`` the largest ``|E|``;
    ``c = 2`` for open samples, ``c = 1`` for periodic ones. The default of earlier versions; today
    the validity certificate (:mod:`tnn.validity`) decides by default, and this is a value to pass
    as an explicit ``gap_tol`` for the spectral test (which both misses near-critical samples with a
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
    _checks.lattice(lat, ("chain", "square", "honeycomb"), "a spectral gap")
    if V is None:
        raise ValueError("Argument `V` must be given for an open lattice (the bulk gap needs the eigenvectors).")
    E, V = _check_eigensystem(E, V, lat)
    return _gap_from_eigh(E, V, lat, _window(lat, trim), n // 2)


# ------------------------------------------------------------------------------ input checks
def _check_pbc(lat: Lattice, pbc: bool, what: str):
    if lat.pbc != pbc:
        need = "periodic (pbc=True)" if pbc else "open (pbc=False)"
        raise ValueError(f"Argument `lat` must be {need} for {what}, got pbc={lat.pbc}.")


def _check_H(H, lat: Lattice):
    if H is None:
        raise ValueError("Argument `H` must be given, got None.")
    arr = _checks.square_matrix("H", H, lat.n_sites)
    if not (jnp.issubdtype(arr.dtype, jnp.number)) or jnp.issubdtype(arr.dtype, jnp.bool_):
        raise ValueError(f"Argument `H` must be numeric, got dtype {arr.dtype}.")
    if not jnp.issubdtype(arr.dtype, jnp.inexact):
        arr = arr.astype(jnp.result_type(float))
    val = _checks.concrete_value(H)
    if val is not None:
        if not np.all(np.isfinite(val)):
            raise ValueError("Argument `H` must be finite.")
        scale = max(1.0, float(np.max(np.abs(val)))) if val.size else 1.0
        if np.max(np.abs(val - np.conj(val.T))) > 1e-10 * scale:
            raise ValueError("Argument `H` must be Hermitian (H == H^dag up to 1e-10 relative).")
    return lat.to_library_order(arr)  # a user's own site order (tnn.lattice.from_sites)


def _check_eigensystem(E, V, lat: Lattice):
    n = lat.n_sites
    E = E if isinstance(E, jax.Array) else jnp.asarray(E)
    V = V if isinstance(V, jax.Array) else jnp.asarray(V)
    if E.shape != (n,):
        raise ValueError(f"Argument `E` must have shape ({n},) to match the lattice, but has shape {tuple(E.shape)}.")
    if V.shape != (n, n):
        raise ValueError(f"Argument `V` must have shape ({n}, {n}) to match the lattice, but has shape {tuple(V.shape)}.")
    if jnp.issubdtype(E.dtype, jnp.complexfloating):
        raise ValueError(f"Argument `E` must be real, got dtype {E.dtype}.")
    ev = _checks.concrete_value(E)
    if ev is not None and (not np.all(np.isfinite(ev)) or np.any(np.diff(ev) < 0)):
        raise ValueError("Argument `E` must be finite and sorted ascending (as returned by eigh).")
    if not jnp.issubdtype(E.dtype, jnp.floating):
        E = E.astype(jnp.result_type(float))
    if not jnp.issubdtype(V.dtype, jnp.inexact):
        V = V.astype(jnp.result_type(float))
    return E, lat.to_library_order(V=V)[1]  # eigenvector rows in the library's site order


def _check_gap_tol(gap_tol, lat: Lattice | None = None, trim=None):
    """``gap_tol`` as a float array; None becomes the sentinel -1 ("the certificate decides"), so
    switching between the certificate and explicit tolerances never recompiles. With None, a sample too
    small for a certificate (:func:`tnn.validity.boundary_distance`) raises here, before any work."""
    dtype = jnp.result_type(float)
    if gap_tol is None:
        if lat is not None:
            validity.boundary_distance(lat, trim)
        return jnp.asarray(-1.0, dtype=dtype)
    arr = _checks.as_param("gap_tol", gap_tol, ())
    val = _checks.concrete_value(gap_tol)
    if val is not None and float(val) < 0:
        raise ValueError(f"Argument `gap_tol` must be >= 0, got {float(val)}.")
    return jnp.asarray(arr, dtype=dtype)


def _return_mode(return_gap, return_certificate) -> str:
    rg = _check_bool("return_gap", return_gap)
    rc = _check_bool("return_certificate", return_certificate)
    if rg and rc:
        raise ValueError("Arguments `return_gap` and `return_certificate` are exclusive (the certificate holds the gap).")
    return "gap" if rg else ("certificate" if rc else "value")


def _returned(value, cert, mode: str):
    if mode == "gap":
        return value, cert.gap
    if mode == "certificate":
        return value, cert
    return value


def _check_bool(name, x) -> bool:
    if not isinstance(x, (bool, np.bool_)):
        raise ValueError(f"Argument `{name}` must be a bool, got {x!r}.")
    return bool(x)


def _window(lat: Lattice, trim):
    """Validated trim tuple for the bulk window of an open lattice (periodic: no window)."""
    if lat.pbc:
        return None
    return tc.check_trim(lat, trim)


def _certify_eigh(value, E, V, gap_tol, lat: Lattice, window, tail, tail_max, integer_value=None):
    """Certificate of a value computed from an eigensystem: bulk gap over ``window`` (open samples),
    ``E_max = max |E|``, NaN input from ``E`` and ``V``."""
    n_occ = _n_occ(lat)
    gap = _gap_from_eigh(E, V, lat, window, n_occ)
    Es, Vs = jax.lax.stop_gradient(E), jax.lax.stop_gradient(V)
    e_max = jnp.max(jnp.abs(Es))
    cw = jnp.sum((jnp.abs(Vs) ** 2).reshape(lat.n_cells, lat.n_orb, -1), axis=1)
    ext = validity.extended_states(cw, lat, _boundary(lat, window))
    if not lat.pbc:
        # Bulk states only (as the bulk gap): the chiral edge modes of an open Chern insulator are
        # extended along the edge and fill the gap, but they are not where the window reads.
        cells = tc.bulk_cells(lat, window)
        ext = ext & (jnp.sum(jnp.where(cells[:, None], cw, 0.0), axis=0) >= BULK_WEIGHT_FRACTION * cells.mean())
    occ = jnp.arange(Es.shape[0]) < n_occ
    mgap = jnp.min(jnp.where(ext & ~occ, Es, jnp.inf)) - jnp.max(jnp.where(ext & occ, Es, -jnp.inf))
    return validity.certify(value, tail=tail, tail_max=tail_max, gap=gap, e_max=e_max, gap_tol=gap_tol,
                            nan_input=_not_finite(E, V), integer_value=integer_value, mobility_gap=mgap,
                            mobility_min=validity.mobility_tol(lat, e_max))


def _projector_tail(W, lat: Lattice, window):
    rows, weights = validity.projector_reference(lat, window, _boundary(lat, window))
    return validity.projector_tail(jax.lax.stop_gradient(W), rows, weights)


def _n_occ(lat: Lattice) -> int:
    return lat.n_sites // 2


# ------------------------------------------------------------------------------ winding number
def _winding_trim(lat: Lattice, trim):
    if lat.pbc:
        if trim not in (None, 0):
            raise ValueError(f"Argument `trim` applies to open chains only (periodic chains use all cells), got {trim!r}.")
        return (0,)
    return tc.check_trim(lat, trim)


def _polar_rows(lat: Lattice, trim):
    """Row range ``(r0, r1)`` of ``U`` that the kernel reads: the bulk cells of an open chain."""
    L = lat.dims[0]
    return (0, L) if lat.pbc else (trim[0], L - trim[0])


def _winding_from_polar(U, X, s, Yh, gap_tol, nan_input, lat: Lattice, trim, density: bool = False):
    """Value and certificate of the polar route from the rows ``r0:r1`` of ``U`` and the SVD
    ``h = X diag(s) Yh`` (``s`` descending)."""
    L = lat.dims[0]
    r0, r1 = _polar_rows(lat, trim)
    K = jnp.asarray(tc.exact_winding_kernel(lat, _public_trim(lat, trim))[r0:r1], dtype=jnp.real(U).dtype)
    # Fast path = the winding_from_polar network with the exact kernel (a single fused reduction).
    U2 = jnp.real(U) ** 2 + jnp.imag(U) ** 2
    rows = jnp.sum(K * U2, axis=1)
    total = jnp.sum(rows)
    if density:
        value = jnp.zeros(L, rows.dtype).at[r0:r1].set(rows) if (r0, r1) != (0, L) else rows
    else:
        value = total
    X, s, Yh = (jax.lax.stop_gradient(a) for a in (X, s, Yh))
    if lat.pbc:
        gap = 2 * s[-1]
    else:
        # Bulk singular pairs: half of the window's share of weight or more in the window.
        wa = jnp.sum(jnp.abs(X[r0:r1]) ** 2, axis=0)
        wb = jnp.sum(jnp.abs(Yh[:, r0:r1]) ** 2, axis=1)
        bulk = (wa + wb) / 2 >= BULK_WEIGHT_FRACTION * (r1 - r0) / L
        gap = 2 * jnp.min(jnp.where(bulk, s, jnp.inf))
        gap = jnp.where(jnp.isfinite(gap), gap, 0.0)
    D = _boundary(lat, trim)
    tail = jnp.sum(jnp.asarray(validity.winding_tail_weights(lat, (r0, r1), D), U2.dtype)
                   * jax.lax.stop_gradient(U2))
    # Singular pair k is the pair of states +-s_k with cell weights (|X_ik|^2 + |Y_ik|^2) / 2.
    cw = (jnp.abs(X) ** 2 + jnp.abs(Yh.T) ** 2) / 2
    ext = validity.extended_states(cw, lat, D) & (s > ZERO_MODE_FLOOR * s[0])
    if not lat.pbc:
        ext = ext & bulk  # edge states of an open sample are not bulk states
    mgap = 2 * jnp.min(jnp.where(ext, s, jnp.inf))
    return validity.certify(value, tail=tail, tail_max=validity.TAIL_MAX[1], gap=gap, e_max=s[0],
                            gap_tol=gap_tol, nan_input=nan_input, integer_value=total, mobility_gap=mgap,
                            mobility_min=validity.mobility_tol(lat, s[0]))


def _boundary(lat: Lattice, trim) -> float:
    """``D`` of :func:`tnn.validity.boundary_distance` without the size check (done at the API edge)."""
    return max(min(lat.dims) / 4.0 if lat.pbc else float(min(trim)), 0.5)


def _public_trim(lat: Lattice, trim):
    return None if lat.pbc else trim


def _not_finite(*arrays):
    return jnp.logical_not(functools.reduce(jnp.logical_and, [jnp.all(jnp.isfinite(a)) for a in arrays]))


def _winding_polar(H, gap_tol, lat: Lattice, trim, density: bool = False):
    """Value, certificate and the singular values ``s`` (descending) of the chiral block."""
    # The kernel is nonzero on the bulk rows only (a contiguous range): form just those rows of U.
    h = chiral_block(H)
    bad = _not_finite(h)
    U, X, s, Yh = _polar(jnp.where(bad, 0.0, h).astype(h.dtype), _polar_rows(lat, trim))
    return (*_winding_from_polar(U, X, s, Yh, gap_tol, bad, lat, trim, density), s)


@functools.partial(jax.jit, static_argnames=("lat", "trim", "density"))
def _winding_polar_core(H, gap_tol, lat: Lattice, trim, density: bool = False):
    return _winding_polar(H, gap_tol, lat, trim, density)[:2]


@functools.partial(jax.jit, static_argnames=("lat", "trim"))
def winding_polar_energies(H, lat: Lattice, trim=None):
    """The polar route's raw value (as ``gap_tol=0``), its :class:`tnn.validity.Certificate`, and the
    spectrum ``E = (-s, s)`` ``(2L,)`` ascending of a chiral chain ``H``, from one SVD of its chiral
    block: labels and energies of a chiral chain for :mod:`tnn.data` in one call. ``trim`` static."""
    trim_t = _winding_trim(lat, trim)
    # The energies are the same SVD's singular values (no second decomposition).
    value, cert, s = _winding_polar(H, jnp.asarray(0.0, jnp.real(H).dtype), lat, trim_t)
    s = jax.lax.stop_gradient(s)
    return value, cert, jnp.concatenate([-s, s[::-1]])


@functools.partial(jax.jit, static_argnames=("lat", "trim"))
def _winding_svd_core(X, s, Yh, gap_tol, lat: Lattice, trim):
    r0, r1 = _polar_rows(lat, trim)
    U = X[r0:r1] @ Yh
    return _winding_from_polar(U, X, s, Yh, gap_tol, _not_finite(X, s, Yh), lat, trim)


def winding_number_from_svd(X, s, Yh, lat: Lattice, trim=None, return_gap: bool = False, gap_tol=None,
                            return_certificate: bool = False):
    r""":func:`winding_number` (polar route) from an SVD ``h = X diag(s) Yh`` of the chiral block
    ``h = H[0::2, 1::2]``, for callers who have it already (e.g. :func:`tnn.data.chiral_eigh`).

    ``U = X Yh`` exactly as the polar route of :func:`winding_number` (the same decomposition), so the
    two agree to rounding. Args: ``X`` ``(L, L)``, ``s`` ``(L,)`` descending (as ``jnp.linalg.svd``
    returns it), ``Yh`` ``(L, L)``; the rest as :func:`winding_number`. Returns a scalar, or
    ``(W, gap)`` / ``(W, certificate)``.
    """
    lat = _checks.lattice(lat, ("chain",), "the winding number")
    trim_t = _winding_trim(lat, trim)
    mode = _return_mode(return_gap, return_certificate)
    L = lat.dims[0]
    X, s, Yh = jnp.asarray(X), jnp.asarray(s), jnp.asarray(Yh)
    if X.shape != (L, L) or Yh.shape != (L, L) or s.shape != (L,):
        raise ValueError(f"Arguments `X`, `s`, `Yh` must have shapes ({L}, {L}), ({L},), ({L}, {L}) for a chain of "
                         f"{L} cells, got {X.shape}, {s.shape}, {Yh.shape}.")
    tol = _check_gap_tol(gap_tol, lat, trim_t)
    return _returned(*_winding_svd_core(X, s, Yh, tol, lat, trim_t), mode)


def _check_chiral(H, lat):
    val = _checks.concrete_value(H)
    if val is None:
        return
    scale = max(1.0, float(np.max(np.abs(val))))
    off = max(float(np.max(np.abs(val[0::2, 0::2]))), float(np.max(np.abs(val[1::2, 1::2]))))
    if off > 1e-10 * scale:
        _check_site_order(val, lat, scale)
        raise ValueError(
            "Argument `H` breaks chiral symmetry in the site order of tnn.lattice (A_n = 2n, B_n = 2n + 1): "
            "it has nonzero A-A or B-B entries (e.g. onsite disorder). The winding number is then not a "
            "protected invariant; method='eigh' computes the same formula with Q = sign(H) of the full H "
            "(meaningful only for weak symmetry breaking, as a control)."
        )


def _check_site_order(val, lat: Lattice, scale):
    """Raise if ``H`` is chiral for the block order (all A sites, then all B) instead of ours."""
    L = lat.dims[0]
    if np.max(np.abs(val[:L, :L])) <= 1e-10 * scale and np.max(np.abs(val[L:, L:])) <= 1e-10 * scale:
        raise ValueError(
            "Argument `H` is chiral for the site order (all A sites, then all B sites), not the order of "
            "tnn.lattice.chain (A_n = 2n, B_n = 2n + 1); every route would compute a wrong number. Reorder "
            "it first: perm = np.arange(2 * L).reshape(2, L).T.reshape(-1); H = H[np.ix_(perm, perm)]."
        )


def winding_number(H, lat: Lattice, trim=None, return_gap: bool = False, gap_tol=None, method: str = "polar",
                   return_certificate: bool = False):
    r"""Real-space winding number of a chain (docs/conventions.md), an integer when it is valid.

    ``W = (1/L') sum_{i in A} sum_{j in B} (x_i - x_j) |U_ij|^2`` with ``U`` the A-B block of
    ``Q = sign(H)`` (Mondragon-Shem, Hughes, Song, Prodan, PRL 113, 046802 (2014)).

    Validity (default, ``gap_tol=None``): the value is returned only when the certificate of
    :mod:`tnn.validity` holds (the share of ``W`` carried by correlations longer than the window's
    distance to the boundary is at most 0.03, and the value is within 0.25 of an integer);
    otherwise NaN, with the reason in the certificate (``return_certificate=True``). A mobility gap is
    enough: strongly bond-disordered chains with a closed spectral gap keep their value.

    Args:
      H: ``(2L, 2L)`` Hamiltonian of ``lat`` (site ``2n`` = A_n, ``2n+1`` = B_n).
      lat: a chain lattice (static). Open: bulk trace over cells ``trim <= i < L - trim``; periodic:
        minimum-image distances over all cells.
      trim: cells trimmed on each side of an open chain (static int; default ``L // 4``; at least 1
        for a certified value). Must be None or 0 for a periodic chain (at least 4 cells).
      return_gap: also return the (bulk) gap ``2 min s`` of the chiral block's singular values.
      gap_tol: None (default): the certificate decides. A number: the spectral test instead (NaN where
        the bulk gap is below it; ``0.0`` returns raw values); see :func:`default_gap_tol`.
      method: ``"polar"`` (default): ``U`` is the polar factor of the chiral block
        ``h = H[0::2, 1::2]``, from one SVD (``L x L``); requires chiral symmetry (checked for
        concrete ``H``). ``"eigh"``: ``Q = V sign(E) V^dag`` of the full ``H`` (``2L x 2L`` ``eigh``),
        for Hamiltonians that break chiral symmetry (a control: the value is not protected there).
        The two agree to rounding on chiral chains (near-zero bulk modes included).
      return_certificate: also return the :class:`tnn.validity.Certificate` (tail, gap, distance to
        an integer, reason code).

    Returns:
      Scalar ``W`` (NaN when not valid), or ``(W, gap)`` / ``(W, certificate)``.
    """
    lat = _checks.lattice(lat, ("chain",), "the winding number")
    trim_t = _winding_trim(lat, trim)
    mode = _return_mode(return_gap, return_certificate)
    if method not in ("polar", "eigh"):
        raise ValueError(f"Argument `method` must be 'polar' or 'eigh', got {method!r}.")
    H = _check_H(H, lat)
    tol = _check_gap_tol(gap_tol, lat, trim_t)
    if method == "eigh":
        val = _checks.concrete_value(H)
        if val is not None:
            _check_site_order(val, lat, max(1.0, float(np.max(np.abs(val)))))
        E, V = _eigh_jit(H)
        out = _winding_eigh_core(E, V, tol, lat, trim_t)
    else:
        _check_chiral(H, lat)
        out = _winding_polar_core(H, tol, lat, trim_t)
    return _returned(*out, mode)


def winding_density(H, lat: Lattice, trim=None, return_gap: bool = False, gap_tol=None,
                    return_certificate: bool = False):
    r"""Per-cell contributions ``w_i = sum_j K_ij |U_ij|^2`` ``(L,)`` of :func:`winding_number`
    (polar route), ``sum_i w_i = W``; zero outside the bulk cells of an open chain.

    Unlike ``W`` it is not quantized, so its gradients with respect to Hamiltonian parameters are
    informative; they are finite also on open topological chains (zero modes) and for degenerate
    singular values. Arguments as :func:`winding_number`; NaN everywhere when ``W`` is not valid.
    Returns ``(L,)``, or ``((L,), gap)`` / ``((L,), certificate)``.
    """
    lat = _checks.lattice(lat, ("chain",), "the winding density")
    trim_t = _winding_trim(lat, trim)
    mode = _return_mode(return_gap, return_certificate)
    H = _check_H(H, lat)
    tol = _check_gap_tol(gap_tol, lat, trim_t)
    _check_chiral(H, lat)
    return _returned(*_winding_polar_core(H, tol, lat, trim_t, True), mode)


@jax.jit
def _eigh_jit(H):
    return eigh(H)


@functools.partial(jax.jit, static_argnames=("lat", "trim"))
def _winding_eigh_core(E, V, gap_tol, lat: Lattice, trim):
    n = lat.n_sites
    n_occ = n // 2
    s = jnp.asarray(tc.exact_winding_weights(n, n_occ), dtype=jnp.real(V).dtype)
    # sign(0) = 0 for exact zero modes (an exactly degenerate pair at E = 0 comes back from eigh in an
    # arbitrary basis), as the polar route does.
    Es = jax.lax.stop_gradient(E)
    s = jnp.where(jnp.abs(Es) <= ZERO_MODE_FLOOR * jnp.max(jnp.abs(Es)), 0.0, s)
    VA, VB = V[0::2], V[1::2]
    r0, r1 = _polar_rows(lat, trim)
    U = (VA[r0:r1] * s.astype(V.dtype)[None, :]) @ jnp.conj(VB.T)
    K = jnp.asarray(tc.exact_winding_kernel(lat, _public_trim(lat, trim))[r0:r1], dtype=s.dtype)
    U2 = jnp.real(U) ** 2 + jnp.imag(U) ** 2
    value = jnp.sum(K * U2)
    tail = jnp.sum(jnp.asarray(validity.winding_tail_weights(lat, (r0, r1), _boundary(lat, trim)), U2.dtype)
                   * jax.lax.stop_gradient(U2))
    return _certify_eigh(value, E, V, gap_tol, lat, None if lat.pbc else trim, tail, validity.TAIL_MAX[1])


def winding_number_from_eigh(E, V, lat: Lattice, trim=None, return_gap: bool = False, gap_tol=None,
                             return_certificate: bool = False):
    r""":func:`winding_number` from an eigensystem ``(E, V)`` of ``H`` (no second diagonalization).

    ``U = V_A diag(s) V_B^dag`` with ``s_n = -1`` for the ``N/2`` lowest states and ``+1`` above
    (``Q = sign(H)`` at half filling; the two zero modes of an open topological chain end up one on
    each side and stay on the edges, outside the bulk trace). Works for any ``H`` (chiral or not).

    Args:
      E: ``(2L,)`` ascending eigenvalues. V: ``(2L, 2L)`` eigenvectors (columns).
      lat, trim, return_gap, gap_tol, return_certificate: as :func:`winding_number` (the gap is the
        bulk gap of ``E``).

    Returns:
      Scalar, or ``(W, gap)`` / ``(W, certificate)``.
    """
    lat = _checks.lattice(lat, ("chain",), "the winding number")
    trim_t = _winding_trim(lat, trim)
    mode = _return_mode(return_gap, return_certificate)
    E, V = _check_eigensystem(E, V, lat)
    tol = _check_gap_tol(gap_tol, lat, trim_t)
    return _returned(*_winding_eigh_core(E, V, tol, lat, trim_t), mode)


# ------------------------------------------------------------------------------ Chern marker
def _realify(W):
    """``[Re W, Im W]`` ``(N, 2n)``: complex products become single real GEMMs (XLA's complex128
    GEMM on CPU is ~3x slower than NumPy's; its real one is on par)."""
    return jnp.concatenate([jnp.real(W), jnp.imag(W)], axis=1)


def _cmatmul(ar, ai, br, bi):
    """``(ar + i ai) @ (br + i bi)`` as ``(re, im)`` with three real products (Gauss)."""
    t1 = ar @ br
    t2 = ai @ bi
    t3 = (ar + ai) @ (br + bi)
    return t1 - t2, t3 - t1 - t2


def _complex_from_gram(G, n):
    """``W^dag Z`` from the real Gram matrix ``[Wr, Wi]^T [Zr, Zi]`` ``(2n, 2n)``."""
    re = G[:n, :n] + G[n:, n:]
    im = G[:n, n:] - G[n:, :n]
    return re, im


def _marker_sites(W, x, y):
    r"""Per-site ``Im <i|P X P Y P|i>`` for ``P = W W^dag``: ``W`` ``(N, n)``, ``x, y`` ``(N,)`` real.

    ``<i|PXPYP|i> = (W X_w Y_w W^dag)_ii`` with ``X_w = W^dag X W`` (``n x n``); its imaginary part is
    ``(W S W^dag)_ii`` with the Hermitian ``S = [X_w, Y_w] / 2i``. All products are real GEMMs:
    ~3.5 N^3 real multiply-adds at half filling, no ``N x N`` matrix formed.
    """
    n = W.shape[1]
    A = _realify(W)
    G = A.T @ jnp.concatenate([x[:, None] * A, y[:, None] * A], axis=1)  # (2n, 4n)
    xr, xi = _complex_from_gram(G[:, : 2 * n], n)
    yr, yi = _complex_from_gram(G[:, 2 * n :], n)
    mr, mi = _cmatmul(xr, xi, yr, yi)
    sr = (mi + mi.T) / 2
    si = -(mr - mr.T) / 2
    B = A @ jnp.block([[sr, si], [-si, sr]])  # [Re(W S), Im(W S)]
    return jnp.sum(B[:, :n] * A[:, :n] + B[:, n:] * A[:, n:], axis=1)


def _window_trim_2d(lat: Lattice, window):
    return tc.check_trim(lat, window)


def _occupied(V, lat: Lattice):
    W = V[:, : _n_occ(lat)]
    if not jnp.issubdtype(W.dtype, jnp.complexfloating):
        W = W.astype(jnp.result_type(W.dtype, jnp.complex64))
    return W


@functools.partial(jax.jit, static_argnames=("lat", "window"))
def _marker_core(E, V, gap_tol, lat: Lattice, window):
    W = _occupied(V, lat)
    x, y = (jnp.asarray(c, dtype=jnp.real(W).dtype) for c in tc.exact_coordinates(lat))
    per_site = _marker_sites(W, x, y)
    cmap = tc.exact_marker_scale(lat) * per_site.reshape(lat.n_cells, lat.n_orb).sum(axis=1)
    cells = tc.bulk_cells(lat, window)
    mean = jnp.sum(jnp.where(cells, cmap, 0.0)) / float(cells.sum())
    return _certify_eigh(cmap.reshape(lat.shape), E, V, gap_tol, lat, window, _projector_tail(W, lat, window),
                         validity.TAIL_MAX[2], integer_value=mean)


def _marker_window_sum(W, x, y, rows):
    r"""``Im Tr(Pi_b P X P Y P)`` over the bulk sites ``rows`` (static index array), ``P = W W^dag``.

    The sum over a window of the per-site marker without the per-site map: with ``P_b = P[rows, :]
    = W_b W^dag`` (``N_b x N``), ``Tr(Pi_b P X P Y P) = sum_{r a} (P_b X W)_{ra} conj((P_b Y W)_{ra})``,
    since ``W^dag Y P[:, b] = (P_b Y W)^dag``. Costs ``3 N_b N n`` complex multiply-adds against
    ``2 N n^2 + n^3 + N n^2`` for the map (``N_b = N/4``, ``n = N/2``: 2.3x fewer), all as real
    GEMMs (three per complex product).
    """
    wr, wi = jnp.real(W), jnp.imag(W)
    br, bi = wr[rows], wi[rows]
    # P_b = W_b W^dag.
    pr, pi = _cmatmul(br, bi, wr.T, -wi.T)
    ar, ai = _cmatmul(pr, pi, jnp.concatenate([x[:, None] * wr, y[:, None] * wr], axis=1),
                      jnp.concatenate([x[:, None] * wi, y[:, None] * wi], axis=1))
    n = W.shape[1]
    # Im sum A conj(C) with A = P_b X W, C = P_b Y W.
    return jnp.sum(ai[:, :n] * ar[:, n:] - ar[:, :n] * ai[:, n:])


@functools.partial(jax.jit, static_argnames=("lat", "window"))
def _marker_mean_core(E, V, gap_tol, lat: Lattice, window):
    """Bulk-window mean of the local Chern marker (what ``chern_number(method="marker")`` returns),
    through :func:`_marker_window_sum`; equals the mean of :func:`local_chern_marker` over the same
    window to rounding."""
    W = _occupied(V, lat)
    x, y = (jnp.asarray(c, dtype=jnp.real(W).dtype) for c in tc.exact_coordinates(lat))
    cells = tc.bulk_cells(lat, window)
    rows = np.nonzero(tc.site_mask_from_cells(lat, cells))[0]
    value = _marker_window_sum(W, x, y, rows) * (tc.exact_marker_scale(lat) / float(cells.sum()))
    return _certify_eigh(value, E, V, gap_tol, lat, window, _projector_tail(W, lat, window), validity.TAIL_MAX[2])


def _marker_args(lat, window, what="the local Chern marker"):
    lat = _checks.lattice(lat, ("square", "honeycomb"), what)
    _check_pbc(lat, False, what)
    return lat, _window_trim_2d(lat, window)


_CERT_DOC = """Validity (default ``gap_tol=None``): the value is returned when the certificate of
    :mod:`tnn.validity` holds (the share of the invariant's second moment carried by projector
    correlations longer than the window's distance to the boundary is at most 0.03, and the value is
    within 0.25 of an integer), else NaN with the reason in the certificate. ``gap_tol`` a number:
    the spectral test instead (NaN below it; ``0.0``: raw values)."""


def local_chern_marker(H, lat: Lattice, return_gap: bool = False, gap_tol=None, window=None,
                       return_certificate: bool = False):
    r"""Local Chern marker of an open sample, per cell, shape ``lat.shape = (lx, ly)``.

    ``C(r) = (4 pi / A_cell) Im sum_{o in r} <r o|P X P Y P|r o>`` (Bianco & Resta, PRB 84, 241106
    (2011), one-term form of docs/conventions.md), ``P`` the projector on the ``N/2`` lowest states,
    ``X, Y`` Cartesian site coordinates (honeycomb: real positions, ``A_cell = sqrt(3)/2``). Deep in a
    phase it equals the Chern number in the bulk; its sum over the sample is 0.

    Args:
      H: ``(N, N)`` Hermitian. lat: open square or honeycomb lattice (static).
      return_gap: also return the bulk gap (:func:`spectral_gap`).
      gap_tol: None (default): the certificate decides, on the map's bulk-window mean (the whole map
        is NaN when it fails). A number: the spectral test (NaN below it; 0.0: raw).
      window: ``trim`` of the bulk window (int or ``(tx, ty)``; default ``(lx // 4, ly // 4)``).
      return_certificate: also return the :class:`tnn.validity.Certificate`.

    Returns:
      ``(lx, ly)`` map, or ``(map, gap)`` / ``(map, certificate)``.
    """
    lat, win = _marker_args(lat, window)
    mode = _return_mode(return_gap, return_certificate)
    H = _check_H(H, lat)
    tol = _check_gap_tol(gap_tol, lat, win)
    E, V = _eigh_jit(H)
    return _returned(*_marker_core(E, V, tol, lat, win), mode)


def local_chern_marker_from_eigh(E, V, lat: Lattice, return_gap: bool = False, gap_tol=None, window=None,
                                 return_certificate: bool = False):
    """:func:`local_chern_marker` from an eigensystem: ``E`` ``(N,)`` ascending, ``V`` ``(N, N)``."""
    lat, win = _marker_args(lat, window)
    mode = _return_mode(return_gap, return_certificate)
    E, V = _check_eigensystem(E, V, lat)
    tol = _check_gap_tol(gap_tol, lat, win)
    return _returned(*_marker_core(E, V, tol, lat, win), mode)


# ------------------------------------------------------------------------------ Bott index
def _bott_core_W(W, px, py):
    n = W.shape[1]
    A = _realify(W)
    Zx, Zy = px[:, None] * W, py[:, None] * W
    G = A.T @ jnp.concatenate([jnp.real(Zx), jnp.imag(Zx), jnp.real(Zy), jnp.imag(Zy)], axis=1)
    uxr, uxi = _complex_from_gram(G[:, : 2 * n], n)
    uyr, uyi = _complex_from_gram(G[:, 2 * n :], n)
    # M = (U_x U_y)(U_y U_x)^dag with real GEMMs (three per complex product).
    ar, ai = _cmatmul(uxr, uxi, uyr, uyi)
    br, bi = _cmatmul(uyr, uyi, uxr, uxi)
    mr, mi = _cmatmul(ar, ai, br.T, -bi.T)
    ev = jnp.linalg.eigvals(jax.lax.complex(mr, mi))
    return -jnp.sum(jnp.angle(ev)) / (2 * np.pi)


@functools.partial(jax.jit, static_argnames=("lat",))
def _bott_core(E, V, gap_tol, lat: Lattice):
    W = _occupied(V, lat)
    px, py = (jnp.asarray(p, dtype=W.dtype) for p in tc.exact_bott_phases(lat))
    # Integer-valued: its derivative is zero wherever it is defined; stop_gradient makes that exact
    # (general eig has no useful derivative here).
    value = jax.lax.stop_gradient(_bott_core_W(W, px, py))
    return _certify_eigh(value, E, V, gap_tol, lat, None, _projector_tail(W, lat, None), validity.TAIL_MAX[2])


def _bott_args(lat):
    lat = _checks.lattice(lat, ("square", "honeycomb"), "the Bott index")
    _check_pbc(lat, True, "the Bott index")
    return lat


def bott_index(H, lat: Lattice, return_gap: bool = False, gap_tol=None, return_certificate: bool = False):
    r"""Bott index of a periodic sample (Loring & Hastings, EPL 92, 67004 (2010)); equals ``C``.

    ``B = -(1/2 pi) Im Tr log(U_1 U_2 U_1^dag U_2^dag)``, ``U_d = W^dag exp(2 pi i X_d / L_d) W`` with
    ``W`` the ``N/2`` lowest eigenvectors and ``X_d`` the fractional coordinates along ``a_d``
    (square: Cartesian; honeycomb: along ``a1, a2``). ``Im Tr log`` is the sum of the eigenvalue
    phases of the ``n_occ x n_occ`` product (general ``eig``); since ``det`` of that product is real
    and positive the sum is a multiple of ``2 pi`` to rounding. Being an integer for *every* gapped
    sample, it can be a wrong integer on a small sample (e.g. -1 for C = +1 on 7 x 5): the certificate
    is what tells.

    Args:
      H: ``(N, N)`` Hermitian. lat: periodic square or honeycomb lattice (static), at least 4 cells
        along each direction for a certified value.
      return_gap: also return ``E[N/2] - E[N/2 - 1]``.
      gap_tol: None (default): the certificate decides. A number: the spectral test (0.0: raw).
      return_certificate: also return the :class:`tnn.validity.Certificate`.

    Returns:
      Scalar, or ``(B, gap)`` / ``(B, certificate)``. Its gradient is zero (``jax.grad`` returns 0: an
      integer-valued function); use the marker for gradients.
    """
    lat = _bott_args(lat)
    mode = _return_mode(return_gap, return_certificate)
    H = _check_H(H, lat)
    tol = _check_gap_tol(gap_tol, lat, None)
    E, V = _eigh_jit(H)
    return _returned(*_bott_core(E, V, tol, lat), mode)


def bott_index_from_eigh(E, V, lat: Lattice, return_gap: bool = False, gap_tol=None, return_certificate: bool = False):
    """:func:`bott_index` from an eigensystem: ``E`` ``(N,)`` ascending, ``V`` ``(N, N)``."""
    lat = _bott_args(lat)
    mode = _return_mode(return_gap, return_certificate)
    E, V = _check_eigensystem(E, V, lat)
    tol = _check_gap_tol(gap_tol, lat, None)
    return _returned(*_bott_core(E, V, tol, lat), mode)


# ------------------------------------------------------------------------------ Kitaev
@functools.partial(jax.jit, static_argnames=("lat", "radius", "window"))
def _kitaev_core(E, V, gap_tol, lat: Lattice, radius: float, window):
    W = V[:, : _n_occ(lat)]
    sectors = tc.exact_kitaev_sectors(lat, radius)
    # Only the disc's rows of W enter: G_s = W_s^dag W_s, t = Tr(G_a G_b G_c) = sum P_jk P_kl P_lj.
    G = []
    for sec in sectors:
        Ws = W[np.flatnonzero(sec)]
        G.append(jnp.conj(Ws.T) @ Ws)
    t = jnp.sum((G[0] @ G[1]) * G[2].T)
    value = tc.KITAEV_SCALE * jnp.imag(t)
    return _certify_eigh(value, E, V, gap_tol, lat, window, _projector_tail(_occupied(V, lat), lat, window),
                         validity.TAIL_MAX[2])


def _kitaev_args(lat, radius, window):
    lat = _checks.lattice(lat, ("square", "honeycomb"), "the Kitaev formula")
    r = tc.default_kitaev_radius(lat) if radius is None else radius
    tc.exact_kitaev_sectors(lat, r)  # validates radius
    return lat, float(r), _window(lat, window)


def kitaev_chern_number(H, lat: Lattice, radius=None, return_gap: bool = False, gap_tol=None, window=None,
                        return_certificate: bool = False):
    r"""Kitaev's real-space Chern number (Ann. Phys. 321, 2 (2006)), equal to ``C``.

    ``nu = -12 pi i sum_{j in A, k in B, l in C} (P_jk P_kl P_lj - P_jl P_lk P_kj) = 24 pi Im Tr(P_AB P_BC P_CA)``
    with ``A, B, C`` three 120-degree sectors, counter-clockwise, of the disc of radius ``radius``
    (default ``0.4 *`` the smallest linear extent) around the centre of the sample
    (:func:`tnn.contractions.exact_kitaev_sectors`). Open or periodic samples; the gap is the bulk gap
    over the ``window`` for open ones; validity as :func:`chern_number`. Returns a scalar, or
    ``(nu, gap)`` / ``(nu, certificate)``.
    """
    lat, r, win = _kitaev_args(lat, radius, window)
    mode = _return_mode(return_gap, return_certificate)
    H = _check_H(H, lat)
    tol = _check_gap_tol(gap_tol, lat, win)
    E, V = _eigh_jit(H)
    return _returned(*_kitaev_core(E, V, tol, lat, r, win), mode)


# ------------------------------------------------------------------------------ Chern number
def _chern_dispatch(E, V, lat, method, window, radius, tol):
    if method == "marker":
        return _marker_mean_core(E, V, tol, lat, _window_trim_2d(lat, window))
    if method == "bott":
        return _bott_core(E, V, tol, lat)
    r = tc.default_kitaev_radius(lat) if radius is None else float(radius)
    return _kitaev_core(E, V, tol, lat, r, _window(lat, window))


def _chern_args(lat, method, window, radius):
    """Validated ``(lat, trim of the certificate's window)``."""
    if method not in CHERN_METHODS:
        raise ValueError(f"Argument `method` must be one of {CHERN_METHODS}, got {method!r}.")
    lat = _checks.lattice(lat, ("square", "honeycomb"), f"chern_number(method={method!r})")
    if radius is not None and method != "kitaev":
        raise ValueError(f"Argument `radius` applies to method='kitaev' only, got radius={radius!r} with method={method!r}.")
    if method == "marker":
        return _marker_args(lat, window, "chern_number(method='marker')")
    if method == "bott":
        _bott_args(lat)
        if window is not None:
            raise ValueError("Argument `window` does not apply to method='bott' (periodic samples have no bulk window).")
        return lat, None
    lat, _, win = _kitaev_args(lat, radius, window)
    return lat, win


def chern_number(H, lat: Lattice, method: str = "marker", window=None, radius=None, return_gap: bool = False,
                 gap_tol=None, return_certificate: bool = False):
    r"""Real-space Chern number of a 2D sample, an integer when it is valid.

    Args:
      H: ``(N, N)`` Hermitian Hamiltonian of ``lat`` (static).
      method:
        * ``"marker"`` (open sample): the local Chern marker averaged over the bulk window
          (``window``: cells trimmed on each side, int or ``(tx, ty)``, default ``(lx//4, ly//4)``,
          i.e. the central half of the sample along each direction).
        * ``"bott"`` (periodic sample): :func:`bott_index`.
        * ``"kitaev"`` (open or periodic): :func:`kitaev_chern_number` on a disc of radius
          ``radius`` (default ``0.4 *`` the smallest linear extent).
      return_gap, gap_tol, return_certificate: as :func:`winding_number` (bulk gap over ``window``
        for open samples).

    {cert}

    Returns:
      Scalar (NaN when not valid), or ``(C, gap)`` / ``(C, certificate)``.
    """
    lat, win = _chern_args(lat, method, window, radius)
    mode = _return_mode(return_gap, return_certificate)
    H = _check_H(H, lat)
    tol = _check_gap_tol(gap_tol, lat, win)
    E, V = _eigh_jit(H)
    return _returned(*_chern_dispatch(E, V, lat, method, window, radius, tol), mode)


def chern_number_from_eigh(E, V, lat: Lattice, method: str = "marker", window=None, radius=None,
                           return_gap: bool = False, gap_tol=None, return_certificate: bool = False):
    """:func:`chern_number` from an eigensystem ``(E, V)`` (``(N,)`` ascending, ``(N, N)``)."""
    lat, win = _chern_args(lat, method, window, radius)
    mode = _return_mode(return_gap, return_certificate)
    E, V = _check_eigensystem(E, V, lat)
    tol = _check_gap_tol(gap_tol, lat, win)
    return _returned(*_chern_dispatch(E, V, lat, method, window, radius, tol), mode)


chern_number.__doc__ = chern_number.__doc__.replace("{cert}", _CERT_DOC)
