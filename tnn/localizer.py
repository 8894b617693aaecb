r"""The spectral localizer: the Chern number (class A, 2D) and the winding number (class AIII, 1D)
of one sample as half the signature of a Hermitian matrix built from ``H`` and the positions (no
Fermi projector), certified by its gap. Formulas, signs, the ``kappa`` rule and its measured windows:
``docs/conventions.md``, section "Spectral localizer".

References: T. A. Loring, Ann. Phys. 356, 383 (2015); T. A. Loring, H. Schulz-Baldes (LSB), New York
J. Math. 23, 1111 (2017), arXiv:1701.07455 (odd pairings); J. Noncommut. Geom. 14, 1 (2020),
arXiv:1802.04517 (even pairings); G. Berkolaiko, J. Shapiro, B. C. White, arXiv:2512.21843.

* Class A (``square``, ``honeycomb``), ``H`` ``(N, N)``:
  ``L = [[H - E, kappa ((X - x) - i (Y - y))], [kappa ((X - x) + i (Y - y)), -(H - E)]]`` ``(2N, 2N)``,
  ``C = -sig(L) / 2`` (``sig`` = #positive - #negative eigenvalues).
* Class AIII (``chain``), chiral ``H = [[0, A], [A^dag, 0]]`` in the sublattice basis:
  ``L = [[kappa (X_A - x), A], [A^dag, -kappa (X_B - x)]]`` ``(2L, 2L)``, ``W = -sig(L) / 2``.

Both minus signs make the values equal :mod:`tnn.kspace` (QWZ ``C = +1`` for ``-2 < m < 0``; SSH
``H[A_{n+r}, B_n] = t_r``), checked in ``tests/test_localizer.py``, not taken from the papers. ``X, Y``
are the Cartesian ``lat.positions`` (a chain: the cell index) in the site order of ``H`` (a
:func:`tnn.lattice.from_sites` order is honoured); the point ``(x, y)`` defaults to the centre (the mean
site position). Eager NumPy/SciPy on concrete arrays: not traceable, not differentiable.

Certificate (:class:`LocalizerCertificate`). ``gap = min |spec(L)|``: by Weyl's inequality no ``dH``
(Hermitian, resp. chiral) with ``||dH|| < gap`` changes the index at the same ``kappa`` and point; exact
for the finite matrix. The value is NaN, never an integer, for every reason of :data:`REASONS`
(``gap <= GAP_RTOL ||L||``: ``"gap_closed"``).

``kappa`` (``kappa=None``). LSB (Thm. 1 of both papers, constants as we read them; the papers' text was
not reachable when this was written, so the constants are unverified and enter only ``kappa_lsb`` and
``hypotheses``, never the value): with ``g`` the gap of ``H`` at ``E``, the localizer on the ball of
radius ``rho`` has half signature equal to the index if ``kappa <= g^3 / (12 ||H|| ||[D, H]||)`` and
``rho >= 2 g / kappa`` (``||[D, H]|| <= ||[X, H]|| + ||[Y, H]||``). Rule (``kappa_rule``): ``"lsb"``,
that ``kappa``, when its ball fits the sample (``rho`` = distance from the point to the boundary, for a
periodic sample to the seam where the positions jump); otherwise ``"radius"``: ``kappa = 2 g / rho``
(open) or ``2 max(g, v) / rho`` (periodic, ``v = max_d ||[X_d, H]||``: the seam needs ``kappa rho``
above about ``v``); ``"given"``: the caller's. ``g`` is measured on the sample: periodic, the distance
of ``E`` from the spectrum; open, the local gap ``sigma_min((H - E)[:, ball])`` over the ball of radius
``rho / 2`` (edge modes excluded; an overestimate of the bulk gap by the confinement energy). A
``kappa`` far above ``g`` per lattice constant gives index 0 *with a large gap*: not flagged; it happens
on samples smaller than about two correlation lengths (``docs/conventions.md``).

Routes. ``"eigvalsh"`` (default for dense ``H``): ``numpy.linalg.eigvalsh(L)``, exact gap and norm.
``"ldl"`` (default for ``scipy.sparse`` ``H``): ``qdldl``'s sparse ``LDL^T`` (AMD order, no pivoting) of
``L``, or of ``[[Re L, -Im L], [Im L, Re L]]`` (spectrum of ``L`` twice) when complex; the inertia of
``D`` is that of ``L`` (Sylvester); the gap from shift-invert Lanczos on the same factors. Accepted when
the smallest pivot exceeds ``PIVOT_RTOL ||L||`` and the a-priori backward error
``gamma_c || |L| |D| |L|^T ||`` (Higham, *Accuracy and Stability of Numerical Algorithms*, Thm. 9.3,
with ``c`` = the largest row count of the factor + 4 for Higham's ``n``: structural zeros are exact) is
below half the gap (then the inertia is that of ``L`` itself); otherwise, or without ``qdldl``, the dense
route with a :class:`LocalizerWarning` up to ``2N = DENSE_MAX``, NaN beyond.
"""


from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from tnn import _checks
from tnn import localizer_linalg as la
from tnn.lattice import ANY_KIND, CHAINS, PLANES, Lattice, check_lattice

try:  # optional: the sparse route (the dense route needs nothing beyond NumPy)
    import qdldl
except ImportError:  # pragma: no cover - exercised only where qdldl is not installed
    qdldl = None

__all__ = ["LocalizerCertificate", "LocalizerWarning", "chern_number", "winding_number", "localizer_matrix",
           "REASONS", "GAP_RTOL", "PIVOT_RTOL", "KAPPA_RADIUS_FACTOR", "LOCAL_GAP_FRACTION", "DENSE_MAX", "METHODS"]

#: the localizer gap (and the gap of ``H`` for the ``kappa`` rule) counts as closed below this times the norm
GAP_RTOL = 1e-10
#: smallest admissible ``|D_ii|`` of the sparse ``LDL^T``, relative to ``||L||``
PIVOT_RTOL = 1e-10
#: the practical rule ``kappa = KAPPA_RADIUS_FACTOR * g / rho`` (open), ``... * max(g, v) / rho`` (periodic)
KAPPA_RADIUS_FACTOR = 2.0
#: the local gap of an open sample is measured on the ball of radius ``LOCAL_GAP_FRACTION * rho``
LOCAL_GAP_FRACTION = 0.5
#: largest localizer (``2N``) the dense route builds as a fallback of the sparse one
DENSE_MAX = 8192
#: the signature routes
METHODS = ("eigvalsh", "ldl")
#: reason codes of a NaN value
REASONS = {
    "gap_closed": "the localizer gap is below GAP_RTOL * ||L||: the signature is not defined",
    "h_gapless": "kappa=None and H has no gap at E near the point: no scale for kappa",
    "gap_not_computed": "sparse route: the shift-invert Lanczos for the localizer gap did not converge",
    "ldl_unstable": "sparse route: tiny pivot or backward error above half the gap, and the dense fallback is too large",
    "no_sparse_solver": "qdldl is not installed and the dense fallback is too large",
}


class LocalizerWarning(RuntimeWarning):
    """A localizer computation took another route than asked (the sparse one fell back to dense)."""


@dataclasses.dataclass(frozen=True)
class LocalizerCertificate:
    """What backs a localizer index (module docstring). Plain Python values.

    Attributes:
      index: the half signature with the module's sign (``int``; meaningless when not ``ok``; None
        when not computed). gap: ``min |spec(L)|`` (no ``dH`` with ``||dH|| < gap`` changes the index).
      norm: ``||L||`` (dense: exact; sparse: the bound ``max_i sum_j |L_ij|``), the tolerances' scale.
      kappa, kappa_rule (``"given"``, ``"lsb"``, ``"radius"``); kappa_lsb: ``g^3 / (12 ||H - E||
        ||[D, H]||)`` (0 when ``g = 0``); h_gap: ``g`` as measured (module docstring); velocity:
        ``max_d ||[X_d, H]||`` (minimum image when periodic); radius: ``rho``; hypotheses: ``kappa <=
        kappa_lsb`` and ``2 g / kappa <= rho`` (with the measured ``g``).
      point: ``(x,)`` or ``(x, y)``. energy: ``E`` (0 for the winding number).
      method: ``"eigvalsh"`` or ``"ldl"``, the route that gave the signature. factor_error: ``ldl``
        only, the backward-error bound of the factorization.
      ok: the value is the index. reason: None or a key of :data:`REASONS`. note: a fallback and why.
    """

    index: int | None
    gap: float | None
    norm: float | None
    kappa: float | None
    kappa_rule: str
    kappa_lsb: float
    h_gap: float
    velocity: float
    radius: float
    hypotheses: bool
    point: tuple[float, ...]
    energy: float
    method: str | None
    factor_error: float | None
    ok: bool
    reason: str | None
    note: str | None = None


# ------------------------------------------------------------------------------ input checks
def _scalar(v):
    """A Python float from a finite real number or a concrete 0-d real array, else None."""
    if isinstance(v, (bool, np.bool_)) or not (_checks.is_real(v) or (_checks.is_concrete(v) and hasattr(v, "dtype"))):
        return None
    a = np.asarray(v)
    return float(a) if a.shape == () and a.dtype.kind in "iuf" and np.isfinite(a) else None


def _check_kappa(kappa):
    k = None if kappa is None else _scalar(kappa)
    if kappa is not None and (k is None or k <= 0):
        raise _checks.argument_error("kappa", "must be a finite number > 0 (or None for the default rule)", kappa)
    return k


def _check_energy(energy) -> float:
    e = _scalar(energy)
    if e is None:
        raise _checks.argument_error("energy", "must be a finite real number", energy)
    return e


def _check_H(H, lat: Lattice):
    """``H`` as ``("dense", ndarray)`` or ``("sparse", csr_matrix)``: square ``(N, N)`` for ``lat``,
    numeric, finite and Hermitian to ``1e-10`` relative to its largest entry."""
    if H is None:
        raise ValueError("Argument `H` must be given, got None.")
    if not _checks.is_concrete(H):
        raise ValueError("Argument `H` must be a concrete array: the localizer is an eager NumPy/SciPy "
                         "computation and cannot run under jax.jit / jax.vmap / jax.grad.")
    n, kind = lat.n_sites, ("sparse" if scipy.sparse.issparse(H) else "dense")
    try:
        M = scipy.sparse.csr_matrix(H) if kind == "sparse" else np.asarray(H)
    except (TypeError, ValueError) as err:
        raise ValueError(f"Argument `H` must be a numeric array, got {type(H).__name__}.") from err
    shape, vals = tuple(M.shape), (M.data if kind == "sparse" else M)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"Argument `H` must have shape (N, N), but has shape {shape}.")
    if shape[0] != n:
        raise ValueError(f"Argument `H` must have shape ({n}, {n}) to match the lattice, but has shape {shape}.")
    if vals.dtype == np.bool_ or not np.issubdtype(vals.dtype, np.number):
        raise ValueError(f"Argument `H` must be numeric, got dtype {vals.dtype}.")
    ftype = np.complex128 if np.iscomplexobj(vals) else np.float64
    M = M.astype(ftype)
    vals = M.data if kind == "sparse" else M
    if not np.all(np.isfinite(vals)):
        raise ValueError("Argument `H` must be finite, got NaN or inf entries.")
    scale = float(np.max(np.abs(vals))) if vals.size else 0.0
    asym = float(abs(M - M.conj().T).max()) if n else 0.0
    if asym > 1e-10 * scale:
        raise ValueError(f"Argument `H` must be Hermitian: max |H - H^dag| = {asym:.3g} exceeds 1e-10 times the "
                         f"largest entry ({scale:.3g}).")
    return kind, M


def _site_geometry(lat: Lattice):
    """Positions ``(N, d)`` and sublattice labels ``(N,)`` in the site order of the user's ``H``."""
    pos, sub = lat.positions, lat.sublattice
    if lat.order is None:
        return pos, sub
    o, pos_u, sub_u = np.asarray(lat.order), np.empty_like(pos), np.empty_like(sub)
    pos_u[o], sub_u[o] = pos, sub  # library site i is the user's site order[i]
    return pos_u, sub_u


def _point_and_radius(lat: Lattice, point):
    """The point ``(d,)`` (default: the mean site position) and ``rho``, its distance to the boundary of
    the sample: the union of the cells, cell ``n`` spanning fractional coordinates ``[n - 1/2, n + 1/2]``
    along each Bravais vector (for a periodic sample: the seam where the coordinates jump)."""
    d = lat.ndim
    if point is None:
        p = lat.positions.mean(axis=0)
    else:
        try:
            p = np.asarray(point, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as err:
            raise _checks.argument_error("point", f"must be {d} real coordinates", point) from err
        if p.shape != (d,) or not np.all(np.isfinite(p)):
            raise _checks.argument_error("point", f"must be {d} finite real coordinates", point)
    B = lat.bravais
    f = p @ np.linalg.inv(B)
    hi = np.asarray(lat.dims, dtype=np.float64) - 0.5
    if d == 1:
        heights = np.abs(B[:, 0])
    else:  # distance between the lines f_i = c and f_i = c + 1
        heights = lat.cell_area / np.linalg.norm(B[::-1], axis=1)
    margin = np.minimum(f + 0.5, hi - f) * heights
    if np.any(margin <= 0):
        raise ValueError(
            f"Argument `point` must lie inside the sample ({lat.kind}, dims {lat.dims}; fractional coordinates "
            f"strictly between -1/2 and dims - 1/2 along each Bravais vector), got {p.tolist()}."
        )
    return p, float(np.min(margin))


# ------------------------------------------------------------------------------ norms and gaps of H
def _entries(kind: str, H):
    """``(rows, cols, vals)`` of the nonzero entries of ``H``."""
    if kind == "sparse":
        C = H.tocoo()
        return C.row, C.col, C.data
    rows, cols = np.nonzero(H)
    return rows, cols, H[rows, cols]


def _displacements(lat: Lattice, pos, rows, cols):
    """``pos[rows] - pos[cols]`` ``(nnz, d)``; minimum image on a periodic sample."""
    delta = pos[rows] - pos[cols]
    if not lat.pbc:
        return delta
    f, dims = delta @ np.linalg.inv(lat.bravais), np.asarray(lat.dims, dtype=np.float64)
    return (f - dims * np.round(f / dims)) @ lat.bravais


def _h_gap(kind: str, H, energy: float, pos, point, rho: float, pbc: bool) -> float:
    """``g``: periodic: ``min |spec(H) - E|``; open: the smallest singular value of ``(H - E)[:, ball]``,
    ball = sites within ``LOCAL_GAP_FRACTION * rho`` of the point (module docstring). A dense ``H``
    sparse in content (tight binding) is handled as a sparse one (cheap next to the localizer)."""
    n = H.shape[0]
    if kind == "dense" and n > la.SMALL and np.count_nonzero(H) <= 0.05 * n * n:
        kind, H = "sparse", scipy.sparse.csr_matrix(H)
    if pbc:
        return la.nearest_eigenvalue(H, energy)
    cols = np.flatnonzero(np.linalg.norm(pos - point[None, :], axis=1) <= LOCAL_GAP_FRACTION * rho)
    eye = scipy.sparse.identity(n, dtype=H.dtype, format="csr") if kind == "sparse" else np.eye(n, dtype=H.dtype)
    M = (H - energy * eye)[:, cols]
    G = M.conj().T @ M  # its smallest eigenvalue is sigma_min(M)^2
    return float(np.sqrt(max(la.nearest_eigenvalue(G, 0.0), 0.0))) if len(cols) else 0.0


# ------------------------------------------------------------------------------ the localizer
def _blocks(H, lat: Lattice, pos, sub, point, energy: float, kappa: float):
    """``L`` (CSC) of the class of ``lat`` (module docstring); ``H`` dense or sparse."""
    H = scipy.sparse.csr_matrix(H)
    if lat.ndim == 2:
        D = scipy.sparse.diags(kappa * ((pos[:, 0] - point[0]) - 1j * (pos[:, 1] - point[1])))
        S = (H - energy * scipy.sparse.identity(H.shape[0], format="csr")).astype(np.complex128)
        return scipy.sparse.bmat([[S, D], [D.conj(), -S]], format="csc")
    ia, ib = np.flatnonzero(sub == 0), np.flatnonzero(sub == 1)
    xa, xb, A = kappa * (pos[ia, 0] - point[0]), kappa * (pos[ib, 0] - point[0]), H[ia][:, ib]
    return scipy.sparse.bmat([[scipy.sparse.diags(xa), A], [A.conj().T, scipy.sparse.diags(-xb)]], format="csc")


def _blocks_dense(H, lat: Lattice, pos, sub, point, energy: float, kappa: float):
    """:func:`_blocks` as a dense array, for a dense ``H``, with the same entries (no sparse assembly and
    ``toarray``: 0.35 ms against 4.4 ms per call at N = 128, profiled over 20 calls)."""
    if lat.ndim == 2:
        n = H.shape[0]
        d = kappa * ((pos[:, 0] - point[0]) - 1j * (pos[:, 1] - point[1]))
        L = np.zeros((2 * n, 2 * n), dtype=np.complex128)
        L[:n, :n] = H
        L[np.arange(n), np.arange(n)] -= energy
        L[n:, n:] = -L[:n, :n]
        L[np.arange(n), n + np.arange(n)] = d
        L[n + np.arange(n), np.arange(n)] = d.conj()
        return L
    ia, ib = np.flatnonzero(sub == 0), np.flatnonzero(sub == 1)
    A = H[np.ix_(ia, ib)]
    na = len(ia)
    L = np.zeros((na + len(ib),) * 2, dtype=A.dtype)
    L[:na, na:], L[na:, :na] = A, A.conj().T
    L[np.arange(na), np.arange(na)] = kappa * (pos[ia, 0] - point[0])
    L[na + np.arange(len(ib)), na + np.arange(len(ib))] = -kappa * (pos[ib, 0] - point[0])
    return L


def _check_chiral(H, sub):
    H = scipy.sparse.csr_matrix(H)
    ia, ib = np.flatnonzero(sub == 0), np.flatnonzero(sub == 1)
    scale = float(abs(H).max()) if H.nnz else 0.0
    off = max((float(abs(H[i][:, i]).max()) if len(i) else 0.0) for i in (ia, ib))
    if off > 1e-10 * scale:
        raise ValueError(
            "Argument `H` must be chiral (H = [[0, A], [A^dag, 0]] in the sublattice basis of `lat`): it has A-A or "
            f"B-B entries up to {off:.3g} (largest entry {scale:.3g}). The winding number is not protected without "
            "chiral symmetry."
        )


def localizer_matrix(H, lat: Lattice, kappa, *, point=None, energy=0.0):
    r"""The localizer of ``H`` on ``lat`` (module docstring): class A for a 2D lattice,
    ``[[H - E, kappa ((X - x) - i (Y - y))], [kappa ((X - x) + i (Y - y)), -(H - E)]]`` ``(2N, 2N)``;
    class AIII for a chain, ``[[kappa (X_A - x), A], [A^dag, -kappa (X_B - x)]]`` ``(2L, 2L)`` with the
    A sites first, then the B sites (each in the order of ``H``). Dense ``H`` gives a dense NumPy
    matrix, ``scipy.sparse`` ``H`` a CSC matrix. ``energy`` must be 0 for a chain."""
    lat = check_lattice(lat, ANY_KIND, "the spectral localizer")
    kappa = _check_kappa(kappa)
    if kappa is None:
        raise ValueError("Argument `kappa` must be a finite number > 0, got None.")
    energy = _check_energy(energy)
    if lat.ndim == 1 and energy != 0.0:
        raise _checks.argument_error("energy", "must be 0 for the chiral (class AIII) localizer of a chain", energy)
    p, _ = _point_and_radius(lat, point)
    kind, M = _check_H(H, lat)
    pos, sub = _site_geometry(lat)
    if lat.ndim == 1:
        _check_chiral(M, sub)
    return _blocks(M, lat, pos, sub, p, energy, kappa) if kind == "sparse" else _blocks_dense(M, lat, pos, sub, p, energy,
                                                                                               kappa)


# ------------------------------------------------------------------------------ the kappa rule
def _kappa_rule(kind: str, M, lat: Lattice, pos, point, rho: float, energy: float, kappa):
    """The fields of the certificate that describe ``kappa`` (module docstring, "Choice of kappa")."""
    n = lat.n_sites
    rows, cols, vals = _entries(kind, M)
    delta = _displacements(lat, pos, rows, cols)
    # ||[X_d, H]||: i [X_d, H] is Hermitian, with entries i (x_i - x_j) H_ij (minimum image if periodic).
    norms = la.hermitian_norms(n, rows, cols, [vals] + [1j * delta[:, k] * vals for k in range(lat.ndim)])
    norm_h, norm_dx = norms[0] + abs(energy), norms[1:]
    norm_dh = sum(norm_dx)
    velocity = max(norm_dx)
    g = _h_gap(kind, M, energy, pos, point, rho, lat.pbc)
    kappa_lsb = g**3 / (12.0 * norm_h * norm_dh) if g > 0 and norm_h > 0 and norm_dh > 0 else 0.0
    if kappa is not None:
        rule = "given"
    elif kappa_lsb > 0 and 2.0 * g / kappa_lsb <= rho:
        rule, kappa = "lsb", kappa_lsb
    elif g > GAP_RTOL * norm_h:
        # Open: the ball of radius 2 g / kappa fills the sample. Periodic: the seam needs
        # kappa rho above about the velocity as well (measured; module docstring).
        scale = max(g, velocity) if lat.pbc else g
        rule, kappa = "radius", KAPPA_RADIUS_FACTOR * scale / rho
    else:
        rule = "radius"
    hypotheses = bool(kappa is not None and g > 0 and kappa <= kappa_lsb and 2.0 * g / kappa <= rho)
    return dict(kappa=kappa, kappa_rule=rule, kappa_lsb=float(kappa_lsb), h_gap=float(g), velocity=float(velocity),
                radius=float(rho), hypotheses=hypotheses, point=tuple(float(v) for v in point), energy=energy)


# ------------------------------------------------------------------------------ driver
def _index(H, lat: Lattice, ndim: int, what: str, sign: int, kappa, point, energy, method, return_certificate):
    lat = check_lattice(lat, CHAINS if ndim == 1 else PLANES, what, n_orb=2 if ndim == 1 else None)
    kappa, energy = _check_kappa(kappa), _check_energy(energy)
    return_certificate = _checks.check_bool("return_certificate", return_certificate)
    p, rho = _point_and_radius(lat, point)
    if method is None:
        method = "ldl" if scipy.sparse.issparse(H) else "eigvalsh"
    method = _checks.check_choice("method", method, METHODS)
    kind, M = _check_H(H, lat)
    pos, sub = _site_geometry(lat)
    if ndim == 1:
        _check_chiral(M, sub)
    base = _kappa_rule(kind, M, lat, pos, p, rho, energy, kappa)
    kappa, n2 = base["kappa"], 2 * lat.n_sites

    def finish(sig, gap, norm, used, factor_error=None, reason=None, note=None):
        if reason is None:
            reason = "gap_not_computed" if gap is None else ("gap_closed" if gap <= GAP_RTOL * norm else None)
        cert = LocalizerCertificate(index=None if sig is None else sign * (sig // 2), gap=gap, norm=norm, method=used,
                                    factor_error=factor_error, ok=reason is None, reason=reason, note=note, **base)
        value = float(cert.index) if cert.ok else float("nan")
        return (value, cert) if return_certificate else value

    if kappa is None:
        return finish(None, None, None, None, reason="h_gapless")
    if method == "eigvalsh" and kind == "dense":
        return finish(*la.signature_dense(_blocks_dense(M, lat, pos, sub, p, energy, kappa)), "eigvalsh")
    L, note = _blocks(M, lat, pos, sub, p, energy, kappa), None
    if method == "ldl":
        if qdldl is None:
            note = "qdldl is not installed"
        else:
            sig, gap, norm, ferr, pmin = la.signature_ldl(L, qdldl.Solver)
            if sig is not None and pmin > PIVOT_RTOL * norm and (gap is None or ferr < 0.5 * gap):
                return finish(sig, gap, norm, "ldl", factor_error=ferr)
            note = (f"sparse LDL^T rejected (smallest pivot {pmin:.3g}, backward-error bound {ferr}, localizer gap "
                    f"{gap}, ||L|| <= {norm:.3g})")
        if n2 > DENSE_MAX:
            reason = "no_sparse_solver" if qdldl is None else "ldl_unstable"
            return finish(None, None, None, "ldl", reason=reason, note=note)
        warnings.warn(f"tnn.localizer: {note}; using the dense eigvalsh route ({n2} x {n2}).", LocalizerWarning,
                      stacklevel=3)
        note += "; dense eigvalsh fallback"
    return finish(*la.signature_dense(L.toarray()), "eigvalsh", note=note)


def chern_number(H, lat: Lattice, *, kappa=None, point=None, energy=0.0, method=None, return_certificate=False):
    r"""Chern number of a 2D sample (class A) from the spectral localizer: ``C = -sig(L) / 2``,
    ``L = [[H - E, kappa ((X - x) - i (Y - y))], [kappa ((X - x) + i (Y - y)), -(H - E)]]`` (module
    docstring; Loring, Ann. Phys. 356, 383 (2015); Loring & Schulz-Baldes, J. Noncommut. Geom. 14, 1
    (2020)). Eager NumPy/SciPy, not traceable.

    Args:
      H: ``(N, N)`` Hermitian Hamiltonian of ``lat``: NumPy, concrete JAX or ``scipy.sparse``, in the site
        order of ``lat`` (a :func:`tnn.lattice.from_sites` order is honoured).
      lat: a ``square`` or ``honeycomb`` lattice, open or periodic (positions are not wrapped; ``rho``
        measures the distance to a periodic sample's seam).
      kappa: ``> 0``, or None for the rule of the module docstring (reported in the certificate).
      point: ``(x, y)`` inside the sample; default its centre. energy: ``E`` (real, default 0).
      method: ``"eigvalsh"`` (default for dense ``H``) or ``"ldl"`` (default for ``scipy.sparse`` ``H``).
      return_certificate: also return the :class:`LocalizerCertificate`.

    Returns ``C`` as a float (integer-valued; NaN with a ``reason`` when the certificate fails), or
    ``(C, cert)``. Raises ``ValueError`` naming the argument before any work: ``H`` not ``(N, N)``, not
    finite or not Hermitian (to ``1e-10`` of its largest entry); ``lat`` not 2D; ``kappa <= 0``; ``point``
    outside the sample.
    """
    return _index(H, lat, 2, "the localizer Chern number", -1, kappa, point, energy, method, return_certificate)


def winding_number(H, lat: Lattice, *, kappa=None, point=None, method=None, return_certificate=False):
    r"""Winding number of a chiral chain (class AIII) from the spectral localizer: ``W = -sig(L) / 2``,
    ``L = [[kappa (X_A - x), A], [A^dag, -kappa (X_B - x)]]``, ``A = H[A sites, B sites]`` (module
    docstring; Loring & Schulz-Baldes, New York J. Math. 23, 1111 (2017)). Eager NumPy/SciPy. Any chiral
    ``H``: the SSH family (real ``A``), the Kitaev chain in the Majorana basis (imaginary ``A``).

    Args: ``H`` ``(2L, 2L)`` Hermitian and chiral (no A-A or B-B entries), dense or ``scipy.sparse``;
    ``lat`` a ``chain``, open or periodic (``X`` the cell index); ``point`` ``x`` or ``(x,)`` inside the
    chain, default ``(L - 1) / 2``; ``kappa``, ``method``, ``return_certificate`` as :func:`chern_number`.
    Returns ``W`` (float; NaN when the certificate fails) or ``(W, cert)``; raises as :func:`chern_number`,
    and for a non-chiral ``H``.
    """
    return _index(H, lat, 1, "the localizer winding number", -1, kappa, point, 0.0, method, return_certificate)
