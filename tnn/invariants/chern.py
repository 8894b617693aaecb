r"""Real-space Chern number of a 2D sample: local Chern marker (open), Bott index (periodic),
Kitaev's formula (either), and :func:`chern_number`, which dispatches between them. Each is computed
from the occupied eigenvectors with real GEMMs and certified by :mod:`tnn.validity`. Conventions:
:mod:`tnn.invariants` and docs/conventions.md.
"""

from __future__ import annotations

import functools

import numpy as np
import jax
import jax.numpy as jnp

from tnn import validity
from tnn import contractions as tc
from tnn.invariants.checks import (check_eigensystem, check_H, check_pbc, check_validity, return_mode, returned,
                                   symmetry_broken, window_trim)
from tnn.invariants.localizer_index import chern_index
from tnn.invariants.spectral import certify_eigh, eigh_jit, n_occ, projector_tail
from tnn.lattice import PLANES, Lattice, check_lattice
from tnn.validity import flag_symmetry

CHERN_METHODS = ("marker", "bott", "kitaev")
#: the certificates of the marker and the Kitaev formula (the first is the default; docs/conventions.md)
CERTIFICATES = ("localizer", "tail")


def _check_certificate(certificate) -> str:
    if certificate not in CERTIFICATES:
        raise ValueError(f"Argument `certificate` must be one of {CERTIFICATES}, got {certificate!r}.")
    return certificate


def _localizer(certificate: str, H, E, V, lat: Lattice):
    """``(index, gap)`` of the localizer test, or None for the tail test. ``H`` None: rebuilt from
    the eigensystem (``V diag(E) V^dag``; the localizer reads only its signature and gap)."""
    if certificate != "localizer":
        return None
    if H is None:
        H = (V * E.astype(V.dtype)) @ jnp.conj(V.T)
    return chern_index(H, lat)

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


def marker_sites(W, x, y):
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
    W = V[:, : n_occ(lat)]
    if not jnp.issubdtype(W.dtype, jnp.complexfloating):
        W = W.astype(np.result_type(W.dtype, np.complex64))
    return W


@functools.partial(jax.jit, static_argnames=("lat", "window", "certificate"))
def _marker_core(E, V, gap_tol, lat: Lattice, window, certificate: str = "localizer", H=None):
    W = _occupied(V, lat)
    x, y = (jnp.asarray(c, dtype=jnp.real(W).dtype) for c in tc.exact_coordinates(lat))
    per_site = marker_sites(W, x, y)
    cmap = tc.exact_marker_scale(lat) * per_site.reshape(lat.n_cells, lat.n_orb).sum(axis=1)
    cells = tc.bulk_cells(lat, window)
    mean = jnp.sum(jnp.where(cells, cmap, 0.0)) / float(cells.sum())
    return certify_eigh(cmap.reshape(lat.shape), E, V, gap_tol, lat, window, projector_tail(W, lat, window),
                         validity.TAIL_MAX[2], integer_value=mean, localizer=_localizer(certificate, H, E, V, lat))


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


@functools.partial(jax.jit, static_argnames=("lat", "window", "certificate"))
def _marker_mean_core(E, V, gap_tol, lat: Lattice, window, certificate: str = "localizer", H=None):
    """Bulk-window mean of the local Chern marker (what ``chern_number(method="marker")`` returns),
    through :func:`_marker_window_sum`; equals the mean of :func:`local_chern_marker` over the same
    window to rounding."""
    W = _occupied(V, lat)
    x, y = (jnp.asarray(c, dtype=jnp.real(W).dtype) for c in tc.exact_coordinates(lat))
    cells = tc.bulk_cells(lat, window)
    rows = np.nonzero(tc.site_mask_from_cells(lat, cells))[0]
    value = _marker_window_sum(W, x, y, rows) * (tc.exact_marker_scale(lat) / float(cells.sum()))
    return certify_eigh(value, E, V, gap_tol, lat, window, projector_tail(W, lat, window), validity.TAIL_MAX[2],
                        localizer=_localizer(certificate, H, E, V, lat))


def _marker_args(lat, window, what="the local Chern marker"):
    lat = check_lattice(lat, PLANES, what)
    check_pbc(lat, False, what)
    return lat, _window_trim_2d(lat, window)


_CERT_DOC = """Validity (default ``validity="certificate"``): the value is returned when the certificate of
    :mod:`tnn.validity` holds, else NaN with the reason in the certificate. ``certificate="localizer"``
    (marker, Kitaev; default): the half signature of the spectral localizer of the sample is defined
    (its gap open), the share of the second moment carried by projector correlations longer than the
    window's distance to the boundary (the tail) is at most 0.06, and the value lies within the stated
    bound ``4 * tail`` of the localizer's index. ``"tail"``: the tail at most 0.03 and the value within
    0.25 of an integer (no localizer: no host computation, cheaper). ``validity="raw"``: the value
    as computed, never NaN-ed by a test; ``validity="spectral"``: the spectral test instead (NaN where
    the bulk gap is below ``gap_tol``)."""

_CERTS_DOC = "the localizer index with the tail as its error bound, or the tail alone: see Validity"


def local_chern_marker(H, lat: Lattice, return_gap: bool = False, gap_tol=None, window=None,
                       return_certificate: bool = False, certificate: str = "localizer", *,
                       validity: str = "certificate"):
    r"""Local Chern marker of an open sample, per cell, shape ``lat.shape = (lx, ly)``.

    ``C(r) = (4 pi / A_cell) Im sum_{o in r} <r o|P X P Y P|r o>`` (Bianco & Resta, PRB 84, 241106
    (2011), one-term form of docs/conventions.md), ``P`` the projector on the ``N/2`` lowest states,
    ``X, Y`` Cartesian site coordinates (honeycomb: real positions, ``A_cell = sqrt(3)/2``). Deep in a
    phase it equals the Chern number in the bulk; its sum over the sample is 0.

    Args:
      H: ``(N, N)`` Hermitian. lat: open square or honeycomb lattice (static).
      return_gap, gap_tol: as :func:`winding_number` (``return_gap`` deprecated; the gap: :func:`spectral_gap`).
      window: ``trim`` of the bulk window (int or ``(tx, ty)``; default ``(lx // 4, ly // 4)``).
      return_certificate: also return the :class:`tnn.validity.Certificate`.
      certificate: ``"localizer"`` (default) or ``"tail"`` ({certs}).
      validity: ``"certificate"`` (default): the certificate decides, on the map's bulk-window mean
        (the whole map is NaN when it fails); ``"raw"``: the map as computed; ``"spectral"``: NaN where
        the bulk gap is below ``gap_tol``. As :func:`winding_number`.

    Returns:
      ``(lx, ly)`` map, or ``(map, certificate)`` with ``return_certificate=True``.
    """
    lat, win = _marker_args(lat, window)
    cert = _check_certificate(certificate)
    H = check_H(H, lat)
    tol = check_validity(validity, gap_tol, lat, win)
    mode = return_mode(return_gap, return_certificate)
    E, V = eigh_jit(H)
    return returned(*flag_symmetry(*_marker_core(E, V, tol, lat, win, cert, H), symmetry_broken(H)), mode)


def local_chern_marker_from_eigh(E, V, lat: Lattice, return_gap: bool = False, gap_tol=None, window=None,
                                 return_certificate: bool = False, certificate: str = "localizer", *,
                                 validity: str = "certificate"):
    """:func:`local_chern_marker` from an eigensystem: ``E`` ``(N,)`` ascending, ``V`` ``(N, N)``."""
    lat, win = _marker_args(lat, window)
    cert = _check_certificate(certificate)
    E, V = check_eigensystem(E, V, lat)
    tol = check_validity(validity, gap_tol, lat, win)
    mode = return_mode(return_gap, return_certificate)
    return returned(*_marker_core(E, V, tol, lat, win, cert), mode)


# ------------------------------------------------------------------------------ Bott index
def bott_from_states(W, px, py):
    """``(Bott index, ||[U_x, U_y]||)`` of the occupied states ``W`` ``(N, n)`` with the position phases
    ``px``, ``py`` (:func:`tnn.contractions.exact_bott_phases`). No LAPACK call but one ``eigvals``: the
    commutator's norm is a power iteration (an SVD here, batched twice in one program, deadlocks
    jaxlib 0.10.2's CPU LAPACK kernels under vmap: a four-orbital system's two spin sectors did)."""
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
    return -jnp.sum(jnp.angle(ev)) / (2 * np.pi), _spectral_norm(jax.lax.complex(ar - br, ai - bi))


#: power iterations of :func:`_spectral_norm`
NORM_ITERATIONS = 60


def _spectral_norm(C):
    """``||C||_2`` by power iteration on ``C^dag C`` (``NORM_ITERATIONS`` steps from a fixed start; a lower
    estimate that converges as ``(s_2 / s_1)^(2k)``): ``O(n^2)`` per step against the ``O(n^3)`` of the
    index itself."""
    C = jax.lax.stop_gradient(C)
    n = C.shape[0]
    v0 = (1.0 + jnp.arange(n, dtype=jnp.real(C).dtype) / n).astype(C.dtype)

    def unit(w):
        return w / jnp.maximum(jnp.linalg.norm(w), jnp.finfo(jnp.real(C).dtype).tiny).astype(C.dtype)

    # 0 * C[0]: the start carries C's (sharding) type, as the loop's output does (shard_map, vmap).
    v = jax.lax.fori_loop(0, NORM_ITERATIONS, lambda _, v: unit(jnp.conj(C.T) @ (C @ v)), unit(v0 + 0 * C[0]))
    return jnp.linalg.norm(C @ v)


@functools.partial(jax.jit, static_argnames=("lat",))
def _bott_core(E, V, gap_tol, lat: Lattice):
    W = _occupied(V, lat)
    px, py = (jnp.asarray(p, dtype=W.dtype) for p in tc.exact_bott_phases(lat))
    # Integer-valued: its derivative is zero wherever it is defined; stop_gradient makes that exact
    # (general eig has no useful derivative here). The 0 * sum(E) term gives it a real (zero) tangent,
    # so that a refused value's derivative is NaN rather than a symbolic zero (tnn.validity).
    value, comm = jax.lax.stop_gradient(bott_from_states(W, px, py))
    value = value + 0.0 * jnp.sum(E)
    return certify_eigh(value, E, V, gap_tol, lat, None, projector_tail(W, lat, None), validity.TAIL_MAX[2],
                        commutator=comm)


def _bott_args(lat):
    lat = check_lattice(lat, PLANES, "the Bott index")
    check_pbc(lat, True, "the Bott index")
    return lat


def bott_index(H, lat: Lattice, return_gap: bool = False, gap_tol=None, return_certificate: bool = False, *,
               validity: str = "certificate"):
    r"""Bott index of a periodic sample (Loring & Hastings, EPL 92, 67004 (2010)); equals ``C``.

    ``B = -(1/2 pi) Im Tr log(U_1 U_2 U_1^dag U_2^dag)``, ``U_d = W^dag exp(2 pi i X_d / L_d) W`` with
    ``W`` the ``N/2`` lowest eigenvectors and ``X_d`` the fractional coordinates along ``a_d``
    (square: Cartesian; honeycomb: along ``a1, a2``). ``Im Tr log`` is the sum of the eigenvalue
    phases of the ``n_occ x n_occ`` product (general ``eig``); since ``det`` of that product is real
    and positive the sum is a multiple of ``2 pi`` to rounding. Being an integer for *every* gapped
    sample, it can be a wrong integer on a small sample (e.g. -1 for C = +1 on 7 x 5): the certificate
    is what tells. Certificate: ``||[U_1, U_2]||`` (Loring-Hastings almost-commutation; the index cannot
    change while it stays below 2) at most :data:`tnn.validity.BOTT_COMMUTATOR_MAX` (reported as
    ``commutator``; docs/conventions.md), instead of the projector tail.

    Args:
      H: ``(N, N)`` Hermitian. lat: periodic square or honeycomb lattice (static), at least 4 cells
        along each direction for a certified value.
      return_gap, gap_tol: as :func:`winding_number` (``return_gap`` deprecated; the gap: ``E[N/2] - E[N/2 - 1]``).
      return_certificate: also return the :class:`tnn.validity.Certificate`.
      validity: ``"certificate"`` (default), ``"raw"`` or ``"spectral"``, as :func:`winding_number`.

    Returns:
      Scalar, or ``(B, certificate)`` with ``return_certificate=True``. Its gradient is zero (``jax.grad`` returns 0: an
      integer-valued function); use the marker for gradients.
    """
    lat = _bott_args(lat)
    H = check_H(H, lat)
    tol = check_validity(validity, gap_tol, lat, None)
    mode = return_mode(return_gap, return_certificate)
    E, V = eigh_jit(H)
    return returned(*flag_symmetry(*_bott_core(E, V, tol, lat), symmetry_broken(H)), mode)


def bott_index_from_eigh(E, V, lat: Lattice, return_gap: bool = False, gap_tol=None, return_certificate: bool = False,
                         *, validity: str = "certificate"):
    """:func:`bott_index` from an eigensystem: ``E`` ``(N,)`` ascending, ``V`` ``(N, N)``."""
    lat = _bott_args(lat)
    E, V = check_eigensystem(E, V, lat)
    tol = check_validity(validity, gap_tol, lat, None)
    mode = return_mode(return_gap, return_certificate)
    return returned(*_bott_core(E, V, tol, lat), mode)


# ------------------------------------------------------------------------------ Kitaev
@functools.partial(jax.jit, static_argnames=("lat", "radius", "window", "certificate"))
def _kitaev_core(E, V, gap_tol, lat: Lattice, radius: float, window, certificate: str = "localizer", H=None):
    W = V[:, : n_occ(lat)]
    sectors = tc.exact_kitaev_sectors(lat, radius)
    # Only the disc's rows of W enter: G_s = W_s^dag W_s, t = Tr(G_a G_b G_c) = sum P_jk P_kl P_lj.
    G = []
    for sec in sectors:
        Ws = W[np.flatnonzero(sec)]
        G.append(jnp.conj(Ws.T) @ Ws)
    t = jnp.sum((G[0] @ G[1]) * G[2].T)
    value = tc.KITAEV_SCALE * jnp.imag(t)
    return certify_eigh(value, E, V, gap_tol, lat, window, projector_tail(_occupied(V, lat), lat, window),
                         validity.TAIL_MAX[2], localizer=_localizer(certificate, H, E, V, lat))


def _kitaev_args(lat, radius, window):
    lat = check_lattice(lat, PLANES, "the Kitaev formula")
    r = tc.default_kitaev_radius(lat) if radius is None else radius
    tc.exact_kitaev_sectors(lat, r)  # validates radius
    return lat, float(r), window_trim(lat, window)


def kitaev_chern_number(H, lat: Lattice, radius=None, return_gap: bool = False, gap_tol=None, window=None,
                        return_certificate: bool = False, certificate: str = "localizer", *,
                        validity: str = "certificate"):
    r"""Kitaev's real-space Chern number (Ann. Phys. 321, 2 (2006)), equal to ``C``.

    ``nu = -12 pi i sum_{j in A, k in B, l in C} (P_jk P_kl P_lj - P_jl P_lk P_kj) = 24 pi Im Tr(P_AB P_BC P_CA)``
    with ``A, B, C`` three 120-degree sectors, counter-clockwise, of the disc of radius ``radius``
    (default ``0.4 *`` the smallest linear extent) around the centre of the sample
    (:func:`tnn.contractions.exact_kitaev_sectors`). Open or periodic samples; the gap is the bulk gap
    over the ``window`` for open ones; ``validity`` and ``certificate`` as :func:`chern_number`. Returns a
    scalar, or ``(nu, certificate)`` with ``return_certificate=True``.
    """
    lat, r, win = _kitaev_args(lat, radius, window)
    cert = _check_certificate(certificate)
    H = check_H(H, lat)
    tol = check_validity(validity, gap_tol, lat, win)
    mode = return_mode(return_gap, return_certificate)
    E, V = eigh_jit(H)
    return returned(*flag_symmetry(*_kitaev_core(E, V, tol, lat, r, win, cert, H), symmetry_broken(H)), mode)


# ------------------------------------------------------------------------------ Chern number
def _chern_dispatch(E, V, lat, method, window, radius, tol, certificate, H=None):
    if method == "marker":
        return _marker_mean_core(E, V, tol, lat, _window_trim_2d(lat, window), certificate, H)
    if method == "bott":
        return _bott_core(E, V, tol, lat)
    r = tc.default_kitaev_radius(lat) if radius is None else float(radius)
    return _kitaev_core(E, V, tol, lat, r, window_trim(lat, window), certificate, H)


def _chern_args(lat, method, window, radius):
    """Validated ``(lat, trim of the certificate's window)``."""
    if method not in CHERN_METHODS:
        raise ValueError(f"Argument `method` must be one of {CHERN_METHODS}, got {method!r}.")
    lat = check_lattice(lat, PLANES, f"chern_number(method={method!r})")
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
                 gap_tol=None, return_certificate: bool = False, certificate: str = "localizer", *,
                 validity: str = "certificate"):
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
      return_certificate: also return the :class:`tnn.validity.Certificate` (its gap: the bulk gap
        over ``window`` for open samples).
      certificate: the marker and the Kitaev formula: ``"localizer"`` (default) or ``"tail"``
        ({certs}). The Bott index has its own (the commutator) and ignores it.
      validity: ``"certificate"`` (default), ``"raw"`` or ``"spectral"`` (with ``gap_tol``), as
        :func:`winding_number`.
      return_gap, gap_tol: as :func:`winding_number` (``return_gap`` deprecated; ``gap_tol`` only with
        ``validity="spectral"``).

    {cert}

    Returns:
      Scalar (NaN when not valid), or ``(C, certificate)`` with ``return_certificate=True``.
    """
    lat, win = _chern_args(lat, method, window, radius)
    cert = _check_certificate(certificate)
    H = check_H(H, lat)
    tol = check_validity(validity, gap_tol, lat, win)
    mode = return_mode(return_gap, return_certificate)
    E, V = eigh_jit(H)
    value, c = _chern_dispatch(E, V, lat, method, window, radius, tol, cert, H)
    return returned(*flag_symmetry(value, c, symmetry_broken(H)), mode)


def chern_number_from_eigh(E, V, lat: Lattice, method: str = "marker", window=None, radius=None,
                           return_gap: bool = False, gap_tol=None, return_certificate: bool = False,
                           certificate: str = "localizer", *, validity: str = "certificate"):
    """:func:`chern_number` from an eigensystem ``(E, V)`` (``(N,)`` ascending, ``(N, N)``); the
    localizer certificate reads ``V diag(E) V^dag``."""
    lat, win = _chern_args(lat, method, window, radius)
    cert = _check_certificate(certificate)
    E, V = check_eigensystem(E, V, lat)
    tol = check_validity(validity, gap_tol, lat, win)
    mode = return_mode(return_gap, return_certificate)
    return returned(*_chern_dispatch(E, V, lat, method, window, radius, tol, cert), mode)


chern_number.__doc__ = chern_number.__doc__.replace("{cert}", _CERT_DOC).replace("{certs}", _CERTS_DOC)
local_chern_marker.__doc__ = local_chern_marker.__doc__.replace("{certs}", _CERTS_DOC)
