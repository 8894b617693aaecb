r"""Bloch-matrix machinery: the k-space invariants of any system, given its Bloch function.

Nothing here knows a system by name: the systems (:mod:`tnn.systems`) call it with their own Bloch
matrices, and :mod:`tnn.kspace` (the public face, by model name) calls it with the registry's.

* :func:`as_real`, :func:`phase`: dtype rules for writing Bloch matrices (explicit promotion).
* :func:`winding_number`, :func:`winding_number_and_gap`: the winding of a chiral chain's
  off-diagonal block ``q(k) = sum_i t_i e^{i r_i k}`` (exact root count, or a jittable polygon count).
* :func:`chern_number`, :func:`chern_number_and_gap`: Fukui-Hatsugai-Suzuki Chern number of the
  occupied half of the bands of ``bloch(params, k, ranges)``, on a grid of :func:`bz_grid`;
  :func:`fhs_flux` the plaquette sum of any states. Conventions in ``docs/conventions.md``.
"""

from __future__ import annotations

import functools

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks
from tnn.assembly import check_ranges, complex_dtype, real_dtype

__all__ = [
    "GaplessError",
    "GridTooCoarseError",
    "FHS_FLUX_MAX",
    "as_real",
    "phase",
    "winding_number",
    "winding_number_and_gap",
    "bz_grid",
    "fhs",
    "fhs_flux",
    "chern_number",
    "chern_number_and_gap",
]


class GaplessError(ValueError):
    """The model has no spectral gap at the Fermi level: its invariant is not defined."""


class GridTooCoarseError(GaplessError):
    """The gap is open, but too small for the finest k grid tried to resolve the invariant."""


# ------------------------------------------------------------------------------- Bloch matrices
def as_real(*xs):
    """``xs`` as arrays of one explicitly promoted real dtype, and the matching complex dtype."""
    arrs = [jnp.asarray(x) for x in xs]
    rdtype = real_dtype(*arrs)
    if rdtype.kind not in "f":
        rdtype = np.dtype(jnp.result_type(float))
    return [a.astype(rdtype) for a in arrs], complex_dtype(rdtype)


def phase(x, cdtype):
    """``exp(i x)`` for real ``x``, as ``cdtype`` (no implicit real -> complex promotion)."""
    return jnp.exp(1j * x.astype(cdtype))


# --------------------------------------------------------------------------------- winding (1D)
def winding_number_and_gap(t, ranges=(0, 1), nk: int = 512):
    """Jittable winding number of ``q(k)`` (float, integer-valued) and the gap.

    ``t``: ``(len(ranges),)``, traced allowed; ``ranges`` and ``nk`` static. The winding of the
    closed polygon ``q(k_0), ..., q(k_{nk-1})`` around 0, i.e. the sum of the principal phase
    increments over ``2 pi``, which is the winding of ``q`` as long as ``q`` turns by less than
    ``pi`` between neighbouring points. Counted as signed crossings of the positive real axis (no
    ``atan2`` per point: about 4x cheaper, which matters when datasets draw and reject parameters
    by the thousand). Gap: ``2 min_k |q(k)|`` on the grid, the band gap at ``E = 0`` (the spectrum
    ``+-|q|`` is symmetric, so the indirect and the direct gap coincide). Returns two scalars; the
    winding is NaN when ``q`` vanishes exactly on a grid point (gap 0).
    """
    ranges = check_ranges(ranges)
    nk = _checks.check_int("nk", nk, 4)
    t = _checks.as_param("t", t, (len(ranges),))
    if not jnp.issubdtype(t.dtype, jnp.floating):
        t = t.astype(jnp.result_type(float))
    # q(k_j) = sum_i t_i e^{i r_i k_j}: a (nk, R) table of cosines and sines, built once at trace
    # time (a constant of the compiled function), times t.
    ks = np.arange(nk) * (2 * np.pi / nk)
    arg = np.outer(ks, np.asarray(ranges, dtype=float))
    re = jnp.asarray(np.cos(arg), t.dtype) @ t
    im = jnp.asarray(np.sin(arg), t.dtype) @ t
    re1, im1 = jnp.roll(re, -1), jnp.roll(im, -1)
    cross = re * im1 - im * re1  # Im(conj(q_j) q_{j+1}): sign = direction of the step
    # Half-open rule: a step crosses the positive real axis upwards when im_j < 0 <= im_{j+1}
    # (and to the right of 0), downwards when im_{j+1} < 0 <= im_j.
    up = (im < 0) & (im1 >= 0) & (cross > 0)
    down = (im1 < 0) & (im >= 0) & (cross < 0)
    w = jnp.sum(up.astype(t.dtype)) - jnp.sum(down.astype(t.dtype))
    qmin = jnp.sqrt(jnp.min(re**2 + im**2))
    return jnp.where(qmin > 0, w, jnp.nan), 2 * qmin


def winding_number(t, ranges=(0, 1), gap_tol: float = 1e-9) -> int:
    r"""Exact winding number of the SSH family, as an ``int``.

    ``q(z) = sum_i t_i z^{r_i}`` on the unit circle: ``W = r_min + #{roots of z^{-r_min} q(z) in
    |z| < 1}``. Raises :class:`GaplessError` if ``q`` (nearly) vanishes for some real ``k``: a root
    within ``gap_tol`` of the unit circle, or ``|q| < gap_tol * sum|t|`` at the angle of a root
    (multiple roots on the circle come back from the eigenvalue solver split by ~eps^(1/m)).

    Under ``jit`` / ``vmap`` / ``grad`` (``t`` traced) the root count is not available: the result
    is then a float scalar, the winding of :func:`winding_number_and_gap` on ``nk = 512`` points
    (exact while ``q`` turns by less than ``pi`` between grid points, i.e. for ranges well below
    ``nk / 2``), and NaN where ``min_k |q(k)| < gap_tol * sum|t|`` (gapless).
    """
    ranges = check_ranges(ranges)
    if not _checks.is_concrete(t):
        tj = _checks.as_param("t", t, (len(ranges),))
        w, gap = winding_number_and_gap(tj, ranges)
        return jnp.where(gap / 2 >= gap_tol * jnp.sum(jnp.abs(tj)), w, jnp.nan)
    tt = np.asarray(_checks.as_param("t", t, (len(ranges),)), dtype=float)
    rmin, rmax = min(ranges), max(ranges)
    coeffs = np.zeros(rmax - rmin + 1)
    for ti, r in zip(tt, ranges):
        coeffs[r - rmin] += ti
    nz = np.nonzero(coeffs)[0]
    if len(nz) == 0:
        raise GaplessError("Argument `t` is all zero: q(k) = 0, the chain is gapless.")
    # Strip leading/trailing zeros: trailing zeros of the power series are roots at z = 0.
    lo, hi = nz[0], nz[-1]
    roots = np.roots(coeffs[lo : hi + 1][::-1])
    q_at_roots = np.abs(np.polyval(coeffs[::-1], np.exp(1j * np.angle(roots)))) if len(roots) else np.ones(1)
    if np.any(np.abs(np.abs(roots) - 1.0) < gap_tol) or np.min(q_at_roots) < gap_tol * np.sum(np.abs(tt)):
        raise GaplessError(f"q(k) vanishes on the Brillouin zone for t={tt.tolist()}, ranges={ranges}: gapless.")
    return int(rmin + lo + np.sum(np.abs(roots) < 1.0))


# --------------------------------------------------------------------------------- Chern (2D)
#: Largest ``|plaquette flux|`` (radians) at which an FHS grid is trusted. FHS is exact while no
#: plaquette's Berry flux reaches ``pi`` (its principal value then wraps). A Dirac point closing
#: inside a plaquette gives that plaquette a flux tending to ``+-pi``; one closing on a grid vertex
#: (K, K' when 3 divides nk; the TRIM when nk is even) spreads its ``pi`` over the plaquettes around
#: it, at most ``pi/3`` each, and FHS stays exact. Measured (``docs/conventions.md``, k space):
#: correct values up to 1.17 at nk = 48, wrong ones from 1.48 on (nk >= 16; 0.74 at nk = 11).
FHS_FLUX_MAX = 1.2


def bz_grid(reciprocal, nk: int, dtype):
    """The ``nk x nk`` FHS grid ``k[i, j] = (i b_1 + j b_2) / nk`` ``(nk, nk, 2)`` of the Brillouin zone
    spanned by ``reciprocal`` ``(2, 2)`` (rows ``b_1, b_2``), in ``dtype``; ``nk`` static."""
    b = jnp.asarray(reciprocal, dtype=dtype)
    kappa = jnp.arange(nk, dtype=dtype) / nk
    k1, k2 = jnp.meshgrid(kappa, kappa, indexing="ij")
    return k1[..., None] * b[0][None, None, :] + k2[..., None] * b[1][None, None, :]  # (nk, nk, 2)


def _lower_band_2x2(H):
    r"""Lower-band eigenvectors ``(..., 2, 1)`` and both band energies ``(...)`` of 2 x 2 Hermitian ``H``.

    Closed form, no LAPACK: with ``H = d0 + d.sigma`` (``b = H[0, 1] = d_x - i d_y``,
    ``d_z = (H00 - H11) / 2``), the lower eigenvalue is ``d0 - |d|`` and ``(b, -d_z - |d|)`` and
    ``(d_z - |d|, b*)`` are both eigenvectors of it; the first is used where ``d_z >= 0`` and the
    second elsewhere, so the chosen one never has norm below ``|d|``. They differ by a k-local
    phase, which every gauge-invariant quantity (FHS plaquettes) ignores. Returns ``W, d0 - |d|,
    d0 + |d|``. A batched LAPACK ``eigh`` of 2 x 2 matrices costs a call per matrix; this is a few
    vector operations.
    """
    b = H[..., 0, 1]
    dz = 0.5 * jnp.real(H[..., 0, 0] - H[..., 1, 1])
    d0 = 0.5 * jnp.real(H[..., 0, 0] + H[..., 1, 1])
    d = jnp.sqrt(dz**2 + jnp.abs(b) ** 2)
    upper = dz >= 0
    u0 = jnp.where(upper, b, (dz - d).astype(b.dtype))
    u1 = jnp.where(upper, (-dz - d).astype(b.dtype), jnp.conj(b))
    norm = jnp.sqrt(jnp.abs(u0) ** 2 + jnp.abs(u1) ** 2)
    inv = (1.0 / jnp.where(norm > 0, norm, 1.0)).astype(b.dtype)
    W = jnp.stack([u0 * inv, u1 * inv], axis=-1)[..., None]
    return W, d0 - d, d0 + d


def fhs_flux(W):
    r"""FHS Chern number and largest ``|plaquette flux|`` of the states ``W`` ``(nk, nk, n, n_b)``
    (``n_b`` orthonormal states at each point of a periodic :func:`bz_grid`; any gauge: only the
    plaquettes enter). Returns two scalars: ``-sum(flux) / 2 pi`` (the sign of ``C = (1/2 pi) int F``,
    ``A = i <u|d_k u>``), an integer up to rounding while the flux stays below :data:`FHS_FLUX_MAX`,
    and ``max |flux|``. Jittable, vmappable."""

    def link(Wa, Wb):
        if Wa.shape[-1] == 1:  # one occupied band: the overlap itself (no batched LU for a 1 x 1 det)
            return jnp.sum(Wa[..., 0].conj() * Wb[..., 0], axis=-1)
        return jnp.linalg.det(jnp.einsum("...ia,...ib->...ab", Wa.conj(), Wb))

    W1 = jnp.roll(W, -1, axis=0)
    W2 = jnp.roll(W, -1, axis=1)
    U1 = link(W, W1)
    U2 = link(W, W2)
    plaquette = U1 * jnp.roll(U2, -1, axis=0) * jnp.conj(jnp.roll(U1, -1, axis=1)) * jnp.conj(U2)
    # <u_k|u_{k+dk}> ~ 1 - i A.dk with A = i<u|du>, so the plaquette phase is -F dk^2.
    flux = jnp.angle(plaquette)
    return -jnp.sum(flux) / (2 * jnp.pi), jnp.max(jnp.abs(flux))


def _hashable(a) -> tuple | None:
    return None if a is None else tuple(map(tuple, np.asarray(a, dtype=float).reshape(-1, 2).tolist()))


def fhs(bloch, params: dict, nk: int, *, reciprocal, critical_k=None, ranges: tuple = ()):
    """FHS sum, indirect gap and largest ``|plaquette flux|`` (three scalars) of the occupied half of the
    bands of ``H(k) = bloch(params, k, ranges)`` on the ``nk x nk`` grid of ``reciprocal`` ``(2, 2)``.

    ``critical_k`` ``(n, 2)``: momenta where the gap can close, evaluated besides the grid so that the
    gap is ``<= 0`` at every transition whatever ``nk`` is (None: none). ``bloch``, ``nk``,
    ``reciprocal``, ``critical_k`` and ``ranges`` are static (one compilation per system and grid);
    ``params`` may be traced. No check of ``params`` (the callers check).
    """
    return _fhs(bloch, params, nk, _hashable(reciprocal), _hashable(critical_k), tuple(ranges))


@functools.partial(jax.jit, static_argnums=(0, 2, 3, 4, 5))
def _fhs(bloch, p: dict, nk: int, reciprocal: tuple, critical_k: tuple | None, ranges: tuple):
    dtype = real_dtype(*p.values())
    ks = bz_grid(np.array(reciprocal), nk, dtype)

    def at(k):
        return bloch(p, k, ranges)

    H = jax.vmap(jax.vmap(at))(ks)
    if H.shape[-1] == 2:
        W, lo, hi = _lower_band_2x2(H)
    else:
        E, V = jnp.linalg.eigh(H)
        n_occ = H.shape[-1] // 2
        W = V[..., :n_occ]  # (nk, nk, n, n_occ)
        lo, hi = E[..., n_occ - 1], E[..., n_occ]
    lo_max, hi_min = jnp.max(lo), jnp.min(hi)
    if critical_k is not None:
        # Where the direct gap can close: evaluating those points too makes the reported gap <= 0
        # at every transition whatever nk is.
        Hc = jax.vmap(at)(jnp.asarray(np.array(critical_k), dtype))
        if H.shape[-1] == 2:
            _, lo_c, hi_c = _lower_band_2x2(Hc)
        else:
            Ec = jnp.linalg.eigvalsh(Hc)
            lo_c, hi_c = Ec[..., H.shape[-1] // 2 - 1], Ec[..., H.shape[-1] // 2]
        lo_max, hi_min = jnp.maximum(lo_max, jnp.max(lo_c)), jnp.minimum(hi_min, jnp.min(hi_c))
    # Band gap at the Fermi level of half filling: the indirect gap (lowest empty state minus highest
    # occupied one over the whole zone), negative where the bands overlap (a metal).
    gap = hi_min - lo_max
    c, flux = fhs_flux(W)
    return c, gap, flux


def chern_number_and_gap(bloch, params: dict, nk: int = 48, *, reciprocal, critical_k=None, ranges: tuple = ()):
    r"""Jittable FHS Chern number (float) and indirect band gap of ``bloch`` (arguments of :func:`fhs`).

    The Chern number is **NaN** where ``gap <= 0`` or some plaquette's ``|flux|`` reaches
    :data:`FHS_FLUX_MAX` (the grid is too coarse for this gap); see
    :func:`tnn.kspace.chern_number_and_gap` for what the gap and the flux test mean.
    """
    c, gap, flux = fhs(bloch, params, nk, reciprocal=reciprocal, critical_k=critical_k, ranges=ranges)
    return jnp.where((gap > 0) & (flux < FHS_FLUX_MAX), c, jnp.nan), gap


def chern_number(bloch, params: dict, nk: int = 48, gap_tol: float = 1e-6, max_nk: int | None = None, *,
                 reciprocal, critical_k=None, ranges: tuple = (), name: str = "the model"):
    """Chern number of ``bloch`` as an ``int`` (concrete ``params``), the FHS grid refined from ``nk``
    up until two nested grids agree with every flux below :data:`FHS_FLUX_MAX`; a float (rounded, NaN
    where gapless or too coarse) when ``params`` are traced. Raises :class:`GaplessError` /
    :class:`GridTooCoarseError`; ``name`` names the model in their messages. The rules are those of
    :func:`tnn.kspace.chern_number`.
    """
    nk = _checks.check_int("nk", nk, 4)
    grid = dict(reciprocal=reciprocal, critical_k=critical_k, ranges=ranges)
    if not all(_checks.is_concrete(v) for v in params.values()):
        c, gap = chern_number_and_gap(bloch, params, nk, **grid)
        return jnp.where(gap >= gap_tol, jnp.rint(c) + 0.0, jnp.nan)  # + 0.0: no -0.0
    max_nk = _checks.check_int("max_nk", max(1024, 2 * nk) if max_nk is None else max_nk, 2 * nk)
    shown = {k: (float(v) if np.ndim(v) == 0 else np.asarray(v).tolist()) for k, v in params.items()}

    def evaluate(n):
        c, gap, flux = (float(x) for x in fhs(bloch, params, n, **grid))
        if gap < gap_tol:
            raise GaplessError(f"{name} with {shown} is gapless on the {n}x{n} grid (band gap {gap:.2e}).")
        return c, gap, flux

    n, (c, gap, flux) = nk, evaluate(nk)
    while 2 * n <= max_nk:
        c2, gap, flux2 = evaluate(2 * n)
        if max(flux, flux2) < FHS_FLUX_MAX and np.rint(c) == np.rint(c2):
            return int(np.rint(c))
        n, c, flux = 2 * n, c2, flux2
    raise GridTooCoarseError(
        f"Argument `nk`: no FHS grid from nk = {nk} to {n} resolves {name} with {shown} (band gap {gap:.2e}, "
        f"max |plaquette flux| {flux:.2f} on {n}x{n}, FHS_FLUX_MAX = {FHS_FLUX_MAX}); raise `max_nk` ({max_nk}) "
        "or treat the model as at a transition."
    )
