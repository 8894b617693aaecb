r"""Bloch Hamiltonians and k-space invariants: the references every real-space result is tested on.

Bloch convention (``PHYSICS.md``): ``psi_k(R) = e^{i k.R} u_k``, so
``H(k) = sum_d e^{i k.d} H[R, R + d]`` with ``R, R + d`` cells and ``d`` the Cartesian cell
displacement. With this convention the plane-wave projection of a periodic real-space matrix from
:mod:`tnn.hamiltonians` equals :func:`bloch_hamiltonian` entry by entry.

* SSH family (orbital order A, B): ``H(k) = [[0, conj q], [q, 0]]``, ``q(k) = sum_i t_i e^{i r_i k}``.
  :func:`winding_number` counts the counter-clockwise turns of ``q`` as ``k: 0 -> 2 pi``.
* QWZ: ``H(k) = sin kx sx + sin ky sy + (m + cos kx + cos ky) sz``.
* Haldane: ``H_AB(k) = t1 sum_{off in {0, a1, a2}} e^{-i k.off}``,
  ``H_ss(k) = +-M + t2 sum_off e^{i nu(off, s) phi} e^{-i k.off}`` over the six NNN offsets.
* :func:`chern_number`: Fukui-Hatsugai-Suzuki lattice field strength for the occupied bands
  (``E < 0``, half filling) with the sign of ``C = (1/2 pi) int F_xy``, ``A = i <u|d_k u>``.

Two flavours are provided: the public ``winding_number`` / ``chern_number`` take concrete numbers,
return a Python ``int`` and raise :class:`GaplessError` on a gapless model; the ``*_and_gap``
variants are jittable and vmappable and return ``(float invariant, gap)`` for sweeps and datasets.
"""

from __future__ import annotations

import functools

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks
from tnn.hamiltonians import QWZ_TX, QWZ_TY, _NNN_OFFSETS, _check_ranges, haldane_nnn_chirality

__all__ = [
    "GaplessError",
    "ssh_bloch",
    "qwz_bloch",
    "haldane_bloch",
    "bloch_hamiltonian",
    "reciprocal_vectors",
    "winding_number",
    "winding_number_and_gap",
    "chern_number",
    "chern_number_and_gap",
    "MODEL_PARAMS",
]


class GaplessError(ValueError):
    """The model has no spectral gap at the Fermi level: its invariant is not defined."""


MODEL_PARAMS = {"ssh": ("t",), "qwz": ("m",), "haldane": ("t1", "t2", "phi", "M")}

_A_HONEY = np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2]])


def reciprocal_vectors(model: str) -> np.ndarray:
    """Reciprocal vectors ``b_i`` (rows) with ``a_i . b_j = 2 pi delta_ij`` for ``model``'s lattice."""
    if model == "ssh":
        return np.array([[2 * np.pi]])
    if model == "qwz":
        return 2 * np.pi * np.eye(2)
    if model == "haldane":
        return 2 * np.pi * np.linalg.inv(_A_HONEY).T
    raise ValueError(f"Argument `model` must be one of {sorted(MODEL_PARAMS)}, got {model!r}.")


# ------------------------------------------------------------------------------- Bloch matrices
def ssh_q(t, k, ranges=(0, 1)):
    """``q(k) = sum_i t_i e^{i r_i k}``; ``t`` ``(n_r,)``, ``k`` scalar -> complex scalar."""
    r = jnp.asarray(ranges, dtype=jnp.result_type(float))
    return jnp.sum(t * jnp.exp(1j * r * k))


def ssh_bloch(t, k, ranges=(0, 1)):
    """SSH-family Bloch matrix ``(2, 2)`` in the (A, B) basis at scalar ``k``."""
    q = ssh_q(t, k, ranges)
    z = jnp.zeros_like(q)
    return jnp.stack([jnp.stack([z, jnp.conj(q)]), jnp.stack([q, z])])


def qwz_bloch(m, k):
    """QWZ Bloch matrix ``(2, 2)`` at ``k = (kx, ky)``."""
    kx, ky = k[0], k[1]
    tx, ty = jnp.asarray(QWZ_TX), jnp.asarray(QWZ_TY)
    onsite = m * jnp.asarray(np.diag([1.0, -1.0]), dtype=tx.dtype)
    # H[R, R + d]: d = -x carries T_x, d = +x carries T_x^dag.
    hx = jnp.exp(-1j * kx) * tx + jnp.exp(1j * kx) * tx.conj().T
    hy = jnp.exp(-1j * ky) * ty + jnp.exp(1j * ky) * ty.conj().T
    return onsite + hx + hy


def haldane_bloch(t1, t2, phi, M, k):
    """Haldane Bloch matrix ``(2, 2)`` (A, B) at Cartesian ``k = (kx, ky)``."""
    k = jnp.asarray(k)
    nn = jnp.sum(jnp.exp(-1j * (jnp.asarray(np.array([[0, 0], [1, 0], [0, 1]]) @ _A_HONEY) @ k)))
    nu = haldane_nnn_chirality()
    diag = []
    for s, sign in ((0, 1.0), (1, -1.0)):
        acc = sign * M + 0j
        for off in _NNN_OFFSETS:
            d = np.asarray(off) @ _A_HONEY
            acc = acc + t2 * jnp.exp(1j * nu[(off[0], off[1], s)] * phi) * jnp.exp(-1j * jnp.dot(d, k))
        diag.append(acc)
    hab = t1 * nn
    return jnp.stack([jnp.stack([diag[0], hab]), jnp.stack([jnp.conj(hab), diag[1]])])


def _check_params(model: str, params: dict) -> dict:
    if model not in MODEL_PARAMS:
        raise ValueError(f"Argument `model` must be one of {sorted(MODEL_PARAMS)}, got {model!r}.")
    if not isinstance(params, dict):
        raise ValueError(f"Argument `params` must be a dict keyed by {MODEL_PARAMS[model]}, got {type(params).__name__}.")
    want = set(MODEL_PARAMS[model])
    if set(params) != want:
        raise ValueError(
            f"Argument `params` for model {model!r} must have exactly the keys {sorted(want)}, got {sorted(params)}."
        )
    return {
        name: _checks.as_param(f"params[{name!r}]", params[name], None if name == "t" else ())
        for name in MODEL_PARAMS[model]
    }


def bloch_hamiltonian(model: str, params: dict, k, ranges=(0, 1)):
    """``H(k)`` of ``model`` with ``params`` keyed as the real-space builders' arguments.

    ``k``: scalar (ssh) or ``(2,)`` Cartesian (qwz, haldane). Returns ``(2, 2)`` complex.
    """
    p = _check_params(model, params)
    return _bloch(model, p, jnp.asarray(k), ranges)


def _bloch(model, p, k, ranges=(0, 1)):
    if model == "ssh":
        return ssh_bloch(p["t"], k, ranges)
    if model == "qwz":
        return qwz_bloch(p["m"], k)
    return haldane_bloch(p["t1"], p["t2"], p["phi"], p["M"], k)


# --------------------------------------------------------------------------------- winding (1D)
def winding_number_and_gap(t, ranges=(0, 1), nk: int = 512):
    """Jittable winding number of ``q(k)`` (float, integer-valued when gapped) and the gap.

    Sums the phase increments of ``q`` on an ``nk``-point grid, which is exact as long as ``q``
    turns by less than ``pi`` between neighbouring points. Gap: ``2 min_k |q(k)|`` on the grid.
    """
    ranges = _check_ranges(ranges)
    t = _checks.as_param("t", t, (len(ranges),))
    ks = jnp.linspace(0.0, 2 * jnp.pi, nk, endpoint=False, dtype=t.dtype)
    q = jax.vmap(lambda k: ssh_q(t, k, ranges))(ks)
    dphi = jnp.angle(jnp.roll(q, -1) / q)
    return jnp.sum(dphi) / (2 * jnp.pi), 2 * jnp.min(jnp.abs(q))


def winding_number(t, ranges=(0, 1), gap_tol: float = 1e-9) -> int:
    r"""Exact winding number of the SSH family, as an ``int``.

    ``q(z) = sum_i t_i z^{r_i}`` on the unit circle: ``W = r_min + #{roots of z^{-r_min} q(z) in
    |z| < 1}``. Raises :class:`GaplessError` if a root lies on the unit circle (``q`` vanishes for
    some real ``k``: the chain is gapless and ``W`` undefined).
    """
    ranges = _check_ranges(ranges)
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
    if np.any(np.abs(np.abs(roots) - 1.0) < gap_tol):
        raise GaplessError(f"q(k) vanishes on the Brillouin zone for t={tt.tolist()}, ranges={ranges}: gapless.")
    return int(rmin + lo + np.sum(np.abs(roots) < 1.0))


# --------------------------------------------------------------------------------- Chern (2D)
def _grid(model: str, nk: int, dtype):
    b = jnp.asarray(reciprocal_vectors(model), dtype=dtype)
    kappa = jnp.arange(nk, dtype=dtype) / nk
    k1, k2 = jnp.meshgrid(kappa, kappa, indexing="ij")
    return k1[..., None] * b[0] + k2[..., None] * b[1]  # (nk, nk, 2)


@functools.partial(jax.jit, static_argnames=("model", "nk"))
def _fhs(model: str, p: dict, nk: int):
    dtype = jnp.result_type(*p.values())
    ks = _grid(model, nk, dtype)
    H = jax.vmap(jax.vmap(lambda k: _bloch(model, p, k)))(ks)
    E, V = jnp.linalg.eigh(H)
    n_occ = H.shape[-1] // 2
    W = V[..., :n_occ]  # (nk, nk, n, n_occ)
    gap = jnp.min(E[..., n_occ] - E[..., n_occ - 1])

    def link(Wa, Wb):
        return jnp.linalg.det(jnp.einsum("...ia,...ib->...ab", Wa.conj(), Wb))

    W1 = jnp.roll(W, -1, axis=0)
    W2 = jnp.roll(W, -1, axis=1)
    U1 = link(W, W1)
    U2 = link(W, W2)
    plaquette = U1 * jnp.roll(U2, -1, axis=0) * jnp.conj(jnp.roll(U1, -1, axis=1)) * jnp.conj(U2)
    # <u_k|u_{k+dk}> ~ 1 - i A.dk with A = i<u|du>, so the plaquette phase is -F dk^2.
    c = -jnp.sum(jnp.angle(plaquette)) / (2 * jnp.pi)
    return c, gap


def chern_number_and_gap(model: str, params: dict, nk: int = 48):
    """Jittable FHS Chern number of the occupied half of the bands (float) and the direct gap.

    ``model``: ``"qwz"`` or ``"haldane"``; ``params`` keyed as the real-space builders'
    arguments (scalars, traced allowed). The Chern value is an integer up to rounding whenever the
    gap on the ``nk x nk`` grid is open.
    """
    if model not in ("qwz", "haldane"):
        raise ValueError(f"Argument `model` must be 'qwz' or 'haldane' for a Chern number, got {model!r}.")
    if not isinstance(nk, int) or nk < 4:
        raise ValueError(f"Argument `nk` must be an int >= 4, got {nk!r}.")
    p = _check_params(model, params)
    return _fhs(model, p, nk)


def chern_number(model: str, params: dict, nk: int = 48, gap_tol: float = 1e-6) -> int:
    """Chern number of ``model`` (``"qwz"`` or ``"haldane"``) as an ``int``; FHS on ``nk x nk``.

    Raises :class:`GaplessError` when the direct gap on the grid is below ``gap_tol``.
    """
    c, gap = chern_number_and_gap(model, params, nk)
    if float(gap) < gap_tol:
        raise GaplessError(f"{model} with {params} is gapless on the {nk}x{nk} grid (gap {float(gap):.2e}).")
    return int(np.rint(float(c)))
