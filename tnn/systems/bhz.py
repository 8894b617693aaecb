r"""The Bernevig-Hughes-Zhang quantum spin Hall insulator (class AII) on the square lattice, four
orbitals per cell, and its invariant, the spin Chern number (``docs/conventions.md``, "BHZ").

Orbital order in a cell (:func:`tnn.lattice.square` with ``n_orb=4``): ``(up, s0), (up, s1),
(down, s0), (down, s1)``, site ``4 * cell + 2 * spin + orbital``; matrices are written as
``kron(s, sigma)`` (``s``: spin, ``sigma``: orbital). Bloch:

``h_up(k) = d(k) . sigma``, ``d(k) = (A sin kx, A sin ky, M - 2B (2 - cos kx - cos ky))``,
``h_down(k) = h_up(-k)^*`` (the time-reversal partner, ``T = i s_y K``), and the optional spin mixing
``delta s_y sigma_y`` (the bulk-inversion-asymmetry term of Koenig et al., JPSJ 77, 031007 (2008):
constant, time-reversal symmetric, it couples the blocks and keeps the gap for small ``delta``):

``H(k) = A sin kx s_z sigma_x + A sin ky sigma_y + m(k) sigma_z + delta s_y sigma_y``.

Real space: ``H[r + x, r] = B sigma_z + (i A / 2) s_z sigma_x``, ``H[r + y, r] = B sigma_z + (i A / 2)
sigma_y`` plus h.c., onsite ``(M - 4B) sigma_z + delta s_y sigma_y``; Anderson disorder uniform
``[-W/2, W/2]`` per orbital (time-reversal symmetric).

Invariant: the spin Chern number of Prodan (PRB 80, 125327 (2009)): ``P S_z P`` restricted to the
occupied states (``S_z = s_z`` per orbital) splits them, where its spectrum has a gap at 0, into the
sectors ``P_+`` (positive) and ``P_-`` (negative); ``C_s = (C(P_+) - C(P_-)) / 2``. Without mixing
``P_+-`` are the occupied states of the spin blocks and ``C_s = (C_up - C_down) / 2 = C_up``: ``+1`` for
``0 < M/B < 4``, ``-1`` for ``4 < M/B < 8``, 0 for ``M/B < 0`` or ``M/B > 8`` (``A, B > 0``; the sign of
``C_up`` follows the QWZ convention of :mod:`tnn.kspace`). k space: FHS on each sector
(:func:`bhz_kspace`); real space: the marker (open) or the Bott index (periodic) of each sector
(:func:`spin_chern_number`), NaN with reason ``spin_gapless`` where ``P S_z P`` has no gap around 0.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from tnn import _checks, bloch, contractions, invariants, lattice, localizer, validity
from tnn.assembly import Terms, anderson_noise, block_family, build, complex_dtype, real_dtype
from tnn.invariants.checks import check_eigensystem, check_H, check_pbc, check_validity, symmetry_broken
from tnn.invariants.chern import bott_from_states, marker_sites
from tnn.bloch import as_real as _real
from tnn.dists import choice, fixed, uniform
from tnn.lattice import Lattice, check_lattice
from tnn.validity import flag_symmetry
from tnn.systems import _demo, bhz_gaps
from tnn.systems.base import DemoPanel, System

__all__ = ["SYSTEM", "bhz", "bhz_terms", "bhz_bloch", "bhz_kspace", "spin_operator", "spin_chern_number",
           "spin_chern_number_from_eigh", "SpinChernCertificate", "SPIN_GAP_TOL", "SPIN_METHODS", "SPIN_CERTIFICATES"]

#: ``P S_z P`` (real space) or its k-resolved spectrum (k space) must keep its eigenvalues at least this
#: far from 0 for the spin sectors to be defined (eigenvalues lie in ``[-1, 1]``; ``+-1`` without mixing)
SPIN_GAP_TOL = 0.05
#: real-space methods of :func:`spin_chern_number`
SPIN_METHODS = ("marker", "bott")
#: certificates of the marker: the localizer of each flattened sector with the tail as the error bound
#: (default), or the tail alone (as :func:`tnn.invariants.chern_number`)
SPIN_CERTIFICATES = ("localizer", "tail")

_S0 = np.eye(2, dtype=complex)
_SX = np.array([[0, 1], [1, 0]], dtype=complex)
_SY = np.array([[0, -1j], [1j, 0]], dtype=complex)
_SZ = np.array([[1, 0], [0, -1]], dtype=complex)
# Gamma matrices kron(spin, orbital) of H(k) = A sin kx G1 + A sin ky G2 + m(k) G3 + delta G4.
_G1, _G2, _G3, _G4 = np.kron(_SZ, _SX), np.kron(_S0, _SY), np.kron(_S0, _SZ), np.kron(_SY, _SY)
#: the Bravais lattice's time-reversal invariant momenta, where the gap of the clean model closes
_TRIM = np.array([[0.0, 0.0], [np.pi, 0.0], [0.0, np.pi], [np.pi, np.pi]])
_RECIPROCAL = 2 * np.pi * np.eye(2)
_PARAMS = ("A", "B", "M", "spin_mixing")
#: ``A`` of the demo and the preset (``B = 1``): with ``A = 2B`` the projector decays fast enough for
#: certified markers on an open 12 x 12 sample (``A = B`` needs about 16 x 16: its tail is 0.086 at M = 2)
_A = 2.0


@functools.lru_cache(maxsize=None)
def _bhz_static(lat: Lattice):
    """One hermitized hopping family: rows, cols and the coefficients of ``A``, ``B``, ``delta`` of each
    entry (``H[r + x, r] = B G3 + (i A/2) G1``, ``H[r + y, r] = B G3 + (i A/2) G2``, onsite ``delta G4``
    above the diagonal), and ``tau_z`` ``(N,)`` (+1 on orbital s0, -1 on s1) for the onsite mass."""
    fams = [(block_family(lat, (1, 0), 0.5j * _G1), 0), (block_family(lat, (0, 1), 0.5j * _G2), 0),
            (block_family(lat, (1, 0), _G3), 1), (block_family(lat, (0, 1), _G3), 1),
            (block_family(lat, (0, 0), np.triu(_G4, 1)), 2)]
    rows = np.concatenate([f[0] for f, _ in fams])
    cols = np.concatenate([f[1] for f, _ in fams])
    coef = np.zeros((3, len(rows)), dtype=complex)
    start = 0
    for (r, _, v), which in fams:
        coef[which, start:start + len(r)] = v
        start += len(r)
    tz = np.where(lat.sublattice % 2 == 0, 1.0, -1.0)
    return rows, cols, coef, tz


def _bhz_check(A, B, M, lat, spin_mixing=0.0, onsite_disorder=0.0, key=None):
    lat = check_lattice(lat, ("square",), "the BHZ model", builder=True, n_orb=4)
    A = _checks.as_param("A", A, ())
    B = _checks.as_param("B", B, ())
    M = _checks.as_param("M", M, ())
    delta = _checks.as_param("spin_mixing", spin_mixing, ())
    w = _checks.nonnegative("onsite_disorder", onsite_disorder)
    key = _checks.check_key(key, not _checks.is_zero(onsite_disorder), "onsite_disorder")
    return (A, B, M, delta, w, key), lat, ()


def _bhz_core(A, B, M, delta, w, key, lat: Lattice) -> Terms:
    rows, cols, coef, tz = _bhz_static(lat)
    rdtype = real_dtype(A, B, M, delta)
    A, B, M, delta = (x.astype(rdtype) for x in (A, B, M, delta))
    cdtype = complex_dtype(rdtype)
    c = jnp.asarray(coef, dtype=cdtype)
    vals = A.astype(cdtype) * c[0] + B.astype(cdtype) * c[1] + delta.astype(cdtype) * c[2]
    diag = (M - 4 * B) * jnp.asarray(tz, rdtype)
    if key is not None:
        diag = diag + anderson_noise(key, lat, w, rdtype)
    return Terms(lat.n_sites, (rows,), (cols,), (vals,), (True,), diag)


def bhz_terms(A, B, M, lat: Lattice, spin_mixing=0.0, onsite_disorder=0.0, key=None) -> Terms:
    """The :class:`Terms` of :func:`bhz` (same arguments, same checks)."""
    args, lat, static = _bhz_check(A, B, M, lat, spin_mixing, onsite_disorder, key)
    return _bhz_core(*args, lat, *static)


def bhz(A, B, M, lat: Lattice, spin_mixing=0.0, onsite_disorder=0.0, key=None) -> jax.Array:
    r"""Real-space BHZ model, shape ``(4 lx ly, 4 lx ly)``, complex (module docstring).

    Args:
      A: spin-orbit (Dirac) velocity. B: band curvature. M: mass; clean spin Chern number ``+1`` for
        ``0 < M/B < 4``, ``-1`` for ``4 < M/B < 8``, 0 outside (``A, B > 0``, no mixing).
      lat: a :func:`tnn.lattice.square` lattice with ``n_orb=4`` (static).
      spin_mixing: ``delta`` of the term ``delta s_y sigma_y`` that couples the spin blocks (0: none).
      onsite_disorder: Anderson strength ``W >= 0`` (uniform ``[-W/2, W/2]`` per orbital).
      key: PRNG key, required when ``onsite_disorder`` is nonzero or traced.
    """
    args, lat, static = _bhz_check(A, B, M, lat, spin_mixing, onsite_disorder, key)
    return build(_bhz_core, args, lat, static, False)


def bhz_bloch(A, B, M, k, spin_mixing=0.0):
    """BHZ Bloch matrix ``(4, 4)`` at ``k = (kx, ky)`` (orbital order of the module docstring)."""
    (A, B, M, delta, k), c = _real(A, B, M, spin_mixing, k)
    kx, ky = k[0], k[1]
    m = M - 2 * B * (2 - jnp.cos(kx) - jnp.cos(ky))
    g1, g2, g3, g4 = (jnp.asarray(g, dtype=c) for g in (_G1, _G2, _G3, _G4))
    return ((A * jnp.sin(kx)).astype(c) * g1 + (A * jnp.sin(ky)).astype(c) * g2 + m.astype(c) * g3
            + delta.astype(c) * g4)


# ------------------------------------------------------------------------------ k space
@functools.partial(jax.jit, static_argnames=("nk",))
def _kspace_core(A, B, M, delta, nk: int):
    dtype = real_dtype(A, B, M, delta)
    A, B, M, delta = (x.astype(dtype) for x in (A, B, M, delta))
    ks = bloch.bz_grid(_RECIPROCAL, nk, dtype)

    def at(k):
        return bhz_bloch(A, B, M, k, delta)

    _, V = jnp.linalg.eigh(jax.vmap(jax.vmap(at))(ks))
    W = V[..., :2]  # the two occupied bands (nk, nk, 4, 2)
    sz = jnp.asarray([1.0, 1.0, -1.0, -1.0], dtype=W.dtype)
    _, lo, up = bhz_gaps.split_2(jnp.einsum("...ia,i,...ib->...ab", jnp.conj(W), sz, W))
    Wm = jnp.einsum("...ia,...a->...i", W, lo)[..., None]
    Wp = jnp.einsum("...ia,...a->...i", W, up)[..., None]
    cp, fp = bloch.fhs_flux(Wp)
    cm, fm = bloch.fhs_flux(Wm)
    return (cp - cm) / 2, *bhz_gaps.exact_gaps(A, B, M, delta), jnp.maximum(fp, fm)


def bhz_kspace(A, B, M, spin_mixing=0.0, nk: int = 48):
    r"""Jittable k-space spin Chern number (float), band gap and spin gap of the clean BHZ model.

    FHS (:func:`tnn.kspace.fhs_flux`) on the ``nk x nk`` grid of each spin sector: at every ``k`` the
    occupied pair ``W(k)`` ``(4, 2)`` is split by the eigenvectors of ``W^dag s_z W`` (lower: ``-``,
    upper: ``+``); ``C_s = (C_+ - C_-) / 2``. Returns three scalars: ``C_s`` (an integer up to rounding;
    NaN where the band gap is ``<= 0``, the spin gap ``<= SPIN_GAP_TOL`` or some plaquette's flux
    reaches :data:`tnn.kspace.FHS_FLUX_MAX`), the indirect band gap at half filling and the spin gap
    ``min_k min(s_+(k), -s_-(k))`` (1 without mixing), both over the whole zone, not the grid
    (:func:`tnn.systems.bhz_gaps.exact_gaps`): exactly 0 wherever they close, off the grid too (with spin mixing the band
    gap closes where ``m(k) = 0`` and ``rho(k) = A |(sin kx, sin ky)| = |delta|``, the spin gap where
    ``m(k) = 0`` and ``rho(k) < |delta|``: rings of ``k`` that no grid holds), independent of ``nk``.
    Parameters scalars, traced allowed (``vmap`` works); ``nk`` static (>= 4; even grids hold the TRIM).
    """
    A, B, M, delta = (_checks.as_param(n, x, ()) for n, x in zip(_PARAMS, (A, B, M, spin_mixing)))
    nk = _checks.check_int("nk", nk, 4)
    c, gap, spin_gap, flux = _kspace_core(A, B, M, delta, nk)
    ok = (gap > 0) & (spin_gap > SPIN_GAP_TOL) & (flux < bloch.FHS_FLUX_MAX)
    return jnp.where(ok, c + 0.0, jnp.nan), gap, spin_gap  # + 0.0: no -0.0


# ------------------------------------------------------------------------------ real space
def spin_operator(lat: Lattice) -> np.ndarray:
    """``S_z`` ``(N,)`` of a four-orbital square lattice: +1 on the spin-up orbitals (0, 1), -1 on 2, 3."""
    lat = check_lattice(lat, ("square",), "the spin operator", n_orb=4)
    return np.where(lat.sublattice < 2, 1.0, -1.0)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class SpinChernCertificate:
    """What backs a real-space spin Chern number (arrays; batched like the value under ``vmap``).

    Attributes:
      reason: int32 code of :data:`tnn.validity.REASONS`; 0 valid, ``SPIN_GAPLESS`` where the spectrum of
        ``P S_z P`` has no gap around 0 (``spin_gap <= SPIN_GAP_TOL``), else the first failing
        sector's reason (``+`` before ``-``).
      gap: the (bulk) spectral gap of ``H`` at the Fermi level. tail: the larger of the sectors' tails.
      spin_gap: ``min(s_+, -s_-)`` over the eigenvalues of ``P S_z P`` of the two halves of the occupied
        states (``<= 0`` when they do not split in two at 0).
      value_plus, value_minus: the raw Chern numbers of ``P_+`` and ``P_-``.
      plus, minus: their :class:`tnn.validity.Certificate` (tail, or the Bott commutator).
    """

    reason: jax.Array
    gap: jax.Array
    tail: jax.Array
    spin_gap: jax.Array
    value_plus: jax.Array
    value_minus: jax.Array
    plus: validity.Certificate
    minus: validity.Certificate

    @property
    def valid(self):
        """``reason == 0`` (elementwise)."""
        return self.reason == validity.VALID


def _localizer_host(Hf, lat: Lattice):
    Hf = np.asarray(Hf)
    dtype = np.finfo(Hf.dtype).dtype
    if not np.all(np.isfinite(Hf)):
        return np.asarray(np.nan, dtype), np.asarray(np.nan, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", localizer.LocalizerWarning)
        index, cert = localizer.chern_number((Hf + np.conj(Hf.T)) / 2, lat, method="eigvalsh", return_certificate=True)
    gap = np.nan if cert.gap is None else cert.gap
    return np.asarray(index if cert.ok else np.nan, dtype), np.asarray(gap, dtype)


def _sector_localizer(Ws, lat: Lattice):
    """``(index, gap)`` of the spectral localizer (:func:`tnn.localizer.chern_number`, dense) of the
    flattened sector ``1 - 2 Ws Ws^dag``, whose negative space is the sector: a host callback."""
    Ws = jax.lax.stop_gradient(Ws)
    Hf = jnp.eye(Ws.shape[0], dtype=Ws.dtype) - 2 * Ws @ jnp.conj(Ws.T)
    shape = jax.ShapeDtypeStruct((), jnp.real(Ws).dtype)
    return jax.pure_callback(functools.partial(_localizer_host, lat=lat), (shape, shape), Hf, vmap_method="sequential")


def _sector_value(Ws, lat: Lattice, method: str, trim):
    """``(raw Chern number, tail, commutator)`` of the projector ``Ws Ws^dag`` (``Ws`` ``(N, n)``); the
    commutator (Bott) is None for the marker."""
    rows, weights = validity.projector_reference(lat, trim, validity.boundary_distance(lat, trim))
    tail = validity.projector_tail(jax.lax.stop_gradient(Ws), rows, weights)
    if method == "bott":
        px, py = (jnp.asarray(p, dtype=Ws.dtype) for p in contractions.exact_bott_phases(lat))
        value, comm = jax.lax.stop_gradient(bott_from_states(Ws, px, py))
        return value, tail, comm
    x, y = (jnp.asarray(c, dtype=jnp.real(Ws).dtype) for c in contractions.exact_coordinates(lat))
    cells = contractions.bulk_cells(lat, trim)
    per_cell = marker_sites(Ws, x, y).reshape(lat.n_cells, lat.n_orb).sum(axis=1)
    value = contractions.exact_marker_scale(lat) * jnp.sum(jnp.where(cells, per_cell, 0.0)) / float(cells.sum())
    return value, tail, None


@functools.partial(jax.jit, static_argnames=("lat", "method", "trim", "certificate"))
def _spin_core(E, V, gap_tol, lat: Lattice, method: str, trim, certificate: str = "localizer"):
    n = lat.n_sites // 2
    W = V[:, :n]
    if not jnp.issubdtype(W.dtype, jnp.complexfloating):
        W = W.astype(np.result_type(W.dtype, np.complex64))
    sz = jnp.asarray(spin_operator(lat), dtype=W.dtype)
    Ms = jnp.conj(W.T) @ (sz[:, None] * W)
    s, U = invariants.eigh((Ms + jnp.conj(Ms.T)) / 2)
    h = n // 2
    spin_gap = jax.lax.stop_gradient(jnp.minimum(s[h], -s[h - 1]))
    Es, Vs = jax.lax.stop_gradient(E), jax.lax.stop_gradient(V)
    gap = invariants.spectral_gap(Es, Vs, lat, trim)
    e_max = jnp.max(jnp.abs(Es))
    nan_input = ~(jnp.all(jnp.isfinite(E)) & jnp.all(jnp.isfinite(V)))
    # Both sectors (spin up, spin down) as one stacked computation: one batched LAPACK call per kind.
    # Two such calls side by side in one program deadlock jaxlib 0.10.2 under vmap (README, the BHZ model).
    sectors = jnp.stack([W @ U[:, h:], W @ U[:, :h]])

    def one(Ws):
        value, tail, comm = _sector_value(Ws, lat, method, trim)
        loc = _sector_localizer(Ws, lat) if (method == "marker" and certificate == "localizer") else None
        return value, validity.certify(value, tail=tail, tail_max=validity.TAIL_MAX[2], gap=gap, e_max=e_max,
                                       gap_tol=gap_tol, nan_input=nan_input, commutator=comm, localizer=loc)[1]

    value2, cert2 = jax.vmap(one)(sectors)
    values = [value2[0], value2[1]]
    certs = [jax.tree.map(lambda a: a[0], cert2), jax.tree.map(lambda a: a[1], cert2)]
    raw = (values[0] - values[1]) / 2
    first = jnp.where(certs[0].reason != validity.VALID, certs[0].reason, certs[1].reason)
    reason = jnp.where(nan_input, validity.NAN_INPUT,
                       jnp.where(~(spin_gap > SPIN_GAP_TOL), validity.SPIN_GAPLESS, first)).astype(jnp.int32)
    gap_tol = jnp.asarray(gap_tol, gap.dtype)
    explicit = gap_tol >= 0
    keep = jnp.where(explicit, gap >= gap_tol, reason == validity.VALID) & ~nan_input
    value = raw * jnp.where(keep, 1.0, jnp.nan).astype(raw.dtype)
    tail = jnp.fmax(certs[0].tail, certs[1].tail)
    cert = SpinChernCertificate(reason=reason, gap=gap, tail=tail, spin_gap=spin_gap, value_plus=values[0],
                                value_minus=values[1], plus=certs[0], minus=certs[1])
    return value, cert


def _spin_args(lat, method, window, certificate):
    """Validated ``(lat, method, trim)`` of :func:`spin_chern_number`."""
    lat = check_lattice(lat, ("square",), "the spin Chern number", n_orb=4)
    method = _checks.check_choice("method", method, SPIN_METHODS)
    _checks.check_choice("certificate", certificate, SPIN_CERTIFICATES)
    if method == "bott":
        check_pbc(lat, True, "the spin Chern number with method='bott'")
        if window is not None:
            raise ValueError("Argument `window` does not apply to method='bott' (periodic samples have no bulk window).")
        trim = None
    else:
        check_pbc(lat, False, "the spin Chern number with method='marker'")
        trim = contractions.check_trim(lat, window)
    try:
        validity.boundary_distance(lat, trim)
    except ValueError as err:  # the spin sectors need the window even for a raw value
        raise ValueError(str(err).replace("Pass validity='raw' for the raw value.",
                                          "The spin Chern number needs it for raw values too.")) from None
    return lat, method, trim


def spin_chern_number(H, lat: Lattice, method: str = "marker", window=None, gap_tol=None,
                      return_certificate: bool = False, certificate: str = "localizer", *,
                      validity: str = "certificate"):
    r"""Real-space spin Chern number ``C_s = (C(P_+) - C(P_-)) / 2`` of a BHZ-like sample (Prodan).

    The occupied states (the ``N/2`` lowest) are split by the eigenvectors of ``P S_z P`` in the
    occupied space (:func:`spin_operator`): the upper half spans ``P_+``, the lower half ``P_-``.
    Without spin mixing they are the occupied states of the two spin blocks, and each sector's value
    is the block's Chern number. Each sector is evaluated like :func:`tnn.invariants.chern_number`:

    * ``"marker"`` (open sample): the local Chern marker of ``P_+-`` averaged over the bulk window
      (``window``: cells trimmed on each side, default ``(lx // 4, ly // 4)``), certified as
      :func:`tnn.invariants.chern_number`'s marker: ``certificate="localizer"`` (default) takes the
      integer from the spectral localizer of the flattened sector ``1 - 2 P_+-`` (dense, a host
      callback under ``jit``) with the tail as the value's error bound; ``"tail"`` the tail alone.
    * ``"bott"`` (periodic sample): the Bott index of ``P_+-``, certified by the commutator of its
      projected unitaries.

    Args:
      H: ``(N, N)`` Hermitian, ``lat``: a :func:`tnn.lattice.square` lattice with ``n_orb=4`` (static).
      method: ``"marker"`` or ``"bott"``. window: trim of the marker's bulk window.
      gap_tol: the tolerance of ``validity="spectral"`` (deprecated without it, as
        :func:`tnn.invariants.winding_number`).
      return_certificate: also return the :class:`SpinChernCertificate`.
      certificate: the marker's, ``"localizer"`` (default) or ``"tail"``; the Bott index ignores it.
      validity: ``"certificate"`` (default): the certificate decides (NaN with a reason where a sector
        fails, or ``spin_gapless`` where ``P S_z P`` has no gap of at least :data:`SPIN_GAP_TOL` around
        0); ``"raw"``: the value as computed; ``"spectral"``: NaN where the gap is below ``gap_tol``
        (docs/conventions.md, "Occupied states, gaps and NaN").

    Returns:
      Scalar (NaN when not valid), or ``(C_s, certificate)``. Runs under ``jit`` and ``vmap``.
    """
    lat, method, trim = _spin_args(lat, method, window, certificate)
    return_certificate = _checks.check_bool("return_certificate", return_certificate)
    H = check_H(H, lat)
    tol = check_validity(validity, gap_tol)
    E, V = invariants.eigh(H)
    value, cert = flag_symmetry(*_spin_core(E, V, tol, lat, method, trim, certificate), symmetry_broken(H))
    return (value, cert) if return_certificate else value


def spin_chern_number_from_eigh(E, V, lat: Lattice, method: str = "marker", window=None, gap_tol=None,
                                return_certificate: bool = False, certificate: str = "localizer", *,
                                validity: str = "certificate"):
    """:func:`spin_chern_number` from an eigensystem ``(E, V)`` (``(N,)`` ascending, ``(N, N)``)."""
    lat, method, trim = _spin_args(lat, method, window, certificate)
    return_certificate = _checks.check_bool("return_certificate", return_certificate)
    E, V = check_eigensystem(E, V, lat)
    tol = check_validity(validity, gap_tol)
    value, cert = _spin_core(E, V, tol, lat, method, trim, certificate)
    return (value, cert) if return_certificate else value


def _realspace(E, V, lat, method, window):
    # The dataset's raw value with its certificate (tnn.data.samples).
    return spin_chern_number_from_eigh(E, V, lat, method=method, window=window, validity="raw", return_certificate=True)


def _factor_bloch(A, B, M, delta, k, sign: int):
    r"""``d(k) . sigma`` with the complex mass ``m(k) + i sign delta`` (``(2, 2)``, not Hermitian for
    ``delta != 0``): the factor of ``det H(k)`` of the mixed model (:func:`_decay_rates`); the spin-up block
    at ``delta = 0``."""
    (A, B, M, delta, k), c = _real(A, B, M, delta, k)
    kx, ky = k[0], k[1]
    m = M - 2 * B * (2 - jnp.cos(kx) - jnp.cos(ky))
    sx, sy, sz = (jnp.asarray(s, dtype=c) for s in (_SX, _SY, _SZ))
    mass = m.astype(c) + (sign * 1j) * delta.astype(c)
    return (A * jnp.sin(kx)).astype(c) * sx + (A * jnp.sin(ky)).astype(c) * sy + mass * sz


def _decay_rates(p, rates):
    r"""Decay rates ``(kappa_1, kappa_2)`` of the clean Fermi projector of the full 4-band ``H(k)``, with or
    without spin mixing (``docs/conventions.md``, "BHZ").

    ``H(k)`` anticommutes with ``s_y sigma_x`` (a chiral symmetry of the clean model), so its spectrum is
    ``+-E`` and an occupied band meets an empty one, at complex ``k``, only at ``E = 0``: where
    ``det H(k) = (m^2 + (rho + delta)^2) (m^2 + (rho - delta)^2) = 0``, ``rho = A |(sin kx, sin ky)|``.
    Regrouped, ``det H = f_+ f_-`` with ``f_+- = (m +- i delta)^2 + rho^2``, each the ``f`` of
    :func:`tnn.data.exact.bloch_decay_rates` of a two-band ``d . sigma`` with the complex mass
    ``m +- i delta`` (:func:`_factor_bloch`): ``kappa = min`` of their rates. At ``delta = 0`` both are the
    spin-up block (the down block has the same ``f``), so the value is continuous in ``delta``. The other
    candidate singularities, where two occupied bands meet (``rho^2 = 0``), are not ones of the projector
    on the branch continued from real ``k`` (checked numerically for ``A = 2, B = 1``, ``-2 <= M <= 10``,
    ``0.1 <= delta <= 1.5``). 0 (``xi`` large) where the clean gap closes; NaN only for non-finite
    parameters."""
    A, B, M, delta = p["A"], p["B"], p["M"], p["spin_mixing"]
    return jnp.minimum(rates(lambda k: _factor_bloch(A, B, M, delta, k, 1)),
                       rates(lambda k: _factor_bloch(A, B, M, delta, k, -1)))


# ------------------------------------------------------------------------------ datasets
def _dataset_terms(theta, lat, ranges, disorder, w, key):
    # Clean samples build without disorder (a traced zero strength would ask for a key).
    return bhz_terms(theta[0], theta[1], theta[2], lat, spin_mixing=theta[3], onsite_disorder=0.0 if key is None else w,
                     key=key)


def _base(**kw) -> dict:
    base = dict(
        model="bhz", size=(8, 8), pbc=True,
        params=(fixed("A", _A), fixed("B", 1.0), uniform("M", -2.0, 10.0), choice("spin_mixing", 0.0, 0.3)),
        disorder="anderson", strength=choice("W", 0.0, 1.0), classes=(-1, 0, 1), balance=True,
        features=("wavefunctions",), dtype="float32", n=256, shard_size=64, chunk_size=16,
    )
    base.update(kw)
    return base


PRESETS = {"bhz": lambda: _base()}


# ------------------------------------------------------------------------------ demo panel
def _demo_run(quick: bool, key):
    n = 8 if quick else 10
    ms = np.linspace(-2.0, 10.0, 13 if quick else 25)
    delta = 0.3
    sq_p, sq_o = lattice.square(n, n, pbc=True, n_orb=4), lattice.square(12, 12, pbc=False, n_orb=4)

    @jax.jit
    def point(m):
        b = spin_chern_number(bhz(_A, 1.0, m, sq_p), sq_p, method="bott")
        bm = spin_chern_number(bhz(_A, 1.0, m, sq_p, spin_mixing=delta), sq_p, method="bott")
        # the tail certificate: the localizer's costs two dense localizers per point
        c = spin_chern_number(bhz(_A, 1.0, m, sq_o), sq_o, method="marker", certificate="tail")
        return b, bm, c

    bott, bott_mixed, marker = (np.asarray(a) for a in jax.lax.map(point, jnp.asarray(ms)))
    kfn = jax.jit(jax.vmap(lambda m: bhz_kspace(_A, 1.0, m)[0]))
    c_k = [None if not np.isfinite(c) else int(np.rint(c)) for c in np.asarray(kfn(jnp.asarray(ms)))]
    rep = {"bott_size": n, "marker_size": 12, "spin_mixing": delta, "M": ms.tolist(), "kspace": c_k,
           "bott": bott.tolist(), "bott_mixed": bott_mixed.tolist(), "marker_bulk": marker.tolist()}
    m_fine = np.linspace(ms[0], ms[-1], 601)
    return rep, (m_fine, np.asarray(jax.jit(jax.vmap(lambda m: bhz_kspace(_A, 1.0, m, nk=24)[0]))(jnp.asarray(m_fine))))


def _demo_plot(axes, q, fine):
    ax = axes[0]
    _demo.step_reference(ax, fine, "k space (FHS per spin sector)")
    ax.plot(q["M"], q["bott"], "o", ms=4, label=f"Bott, {q['bott_size']}x{q['bott_size']}")
    ax.plot(q["M"], q["bott_mixed"], "s", ms=3, mfc="none", label=f"Bott, spin mixing {q['spin_mixing']}")
    ax.plot(q["M"], q["marker_bulk"], "x", label=f"bulk marker, {q['marker_size']}x{q['marker_size']}")
    ax.set(xlabel="M / B (A = 2, B = 1)", ylabel="spin Chern number", title="BHZ (k space gapless at M/B = 0, 4, 8)")
    ax.legend(fontsize=7)


def _demo_summary(q) -> list[str]:
    fmt = lambda v: "  --" if v is None or not np.isfinite(v) else f"{v:+4.1f}"  # noqa: E731
    return [f"BHZ  M      : {' '.join(f'{m:+.1f}' for m in q['M'])}",
            f"     k space: {' '.join('  --' if c is None else f'{c:+4d}' for c in q['kspace'])}",
            f"     Bott   : {' '.join(fmt(b) for b in q['bott'])}",
            f"     mixed  : {' '.join(fmt(b) for b in q['bott_mixed'])}",
            f"     marker : {' '.join(fmt(b) for b in q['marker_bulk'])}"]


SYSTEM = System(
    name="bhz",
    lattice="square",
    n_orb=4,
    params=_PARAMS,
    invariant="spin_chern",
    builders={"bhz": bhz, "bhz_terms": bhz_terms},
    check_core=(_bhz_check, _bhz_core),
    bloch=lambda p, k, ranges: bhz_bloch(p["A"], p["B"], p["M"], k, p["spin_mixing"]),
    reciprocal=_RECIPROCAL,
    kspace=lambda p, ranges, nk: bhz_kspace(p["A"], p["B"], p["M"], p["spin_mixing"], nk)[:2],
    critical_k=_TRIM,
    sample_names=lambda ranges: _PARAMS,
    to_params=lambda theta, ranges: dict(zip(_PARAMS, (theta[0], theta[1], theta[2], theta[3]))),
    dataset_terms=_dataset_terms,
    disorders=("none", "anderson"),
    methods=SPIN_METHODS,
    pbc_method="bott",
    classes=lambda ranges: (-1, 0, 1),
    presets=PRESETS,
    demo=DemoPanel(_demo_run, _demo_plot, summary=_demo_summary),
    realspace_from_eigh=_realspace,
    decay_rates=_decay_rates,
)
