"""Chiral chains at zero energy: the Lyapunov exponents of the transfer matrices of ``h^dag psi_A = 0``.

The number of negative exponents, plus ``min(ranges)``, is the winding number of a disordered chain in
the thermodynamic limit; ``1 / min |gamma|`` its zero-energy localization length; the strong-disorder
transition is where an exponent crosses 0 (nearest-neighbour SSH with bond disorder in closed form:
:func:`ssh_bond_lyapunov`). References of the labels (:mod:`tnn.data.exact`) and of the per-sample
certificate of :mod:`tnn.invariants.localization`; re-exported by :mod:`tnn.validity`. Conventions:
``docs/conventions.md``.
"""

from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

__all__ = ["zero_energy_lyapunov", "ssh_bond_lyapunov", "ssh_bond_transition", "lyapunov_scan",
           "LYAPUNOV_BLOCKS", "LYAPUNOV_WARMUP"]

#: blocks of :func:`lyapunov_scan` (batch means: the statistical error of the exponents)
LYAPUNOV_BLOCKS = 20
#: cells iterated (not counted) before each block of :func:`lyapunov_scan`
LYAPUNOV_WARMUP = 100

def zero_energy_lyapunov(h, ranges, pbc: bool = False) -> np.ndarray:
    r"""Lyapunov exponents of the zero-energy equation of chiral chains, descending, ``(..., D)``.

    ``h`` ``(..., L, L)`` are chiral blocks (``h[b + r, b]`` the hopping of range ``r`` from ``B_b``
    to ``A_{b+r}``, :func:`tnn.hamiltonians.ssh`), ``ranges`` the ranges present, ``D = max - min``.
    ``h^dag psi_A = 0`` reads ``sum_r conj(h[b + r, b]) psi(b + r) = 0`` for every cell ``b``: a
    recurrence of order ``D`` whose transfer matrices are multiplied along the chain (QR
    re-orthogonalization at every step). ``gamma_k = (1/n) log`` of the growth rates; ``1 / min |gamma|``
    is the localization length at ``E = 0``, and ``min(ranges) + #{gamma < 0}`` the winding number of
    the disordered chain (the clean limit gives ``log |z_k|`` for the roots of ``q(z)``). Open chains
    use the cells whose bonds are all present; periodic ones all ``L`` cells. NumPy, batched.
    """
    h = np.asarray(h)
    ranges = tuple(sorted(int(r) for r in ranges))
    rmin, rmax = ranges[0], ranges[-1]
    D = rmax - rmin
    if D < 1:
        raise ValueError(f"Argument `ranges` must span at least two distinct ranges, got {ranges}.")
    L = h.shape[-1]
    cells = np.arange(L) if pbc else np.arange(max(0, -rmin), min(L, L - rmax))
    if len(cells) < 2:
        raise ValueError(f"Argument `h` is too short ({L} cells) for ranges {ranges}.")
    batch = h.shape[:-2]
    Q = np.broadcast_to(np.eye(D, dtype=complex), batch + (D, D)).copy()
    acc = np.zeros(batch + (D,))
    tiny = np.finfo(float).tiny
    for b in cells:
        c = np.stack([np.conj(h[..., (b + r) % L if pbc else b + r, b]) if (r in ranges) else np.zeros(batch, complex)
                      for r in range(rmin, rmax + 1)], axis=-1)
        lead = c[..., D]
        lead = np.where(np.abs(lead) > tiny, lead, tiny)
        T = np.zeros(batch + (D, D), dtype=complex)
        T[..., :-1, 1:] = np.eye(D - 1)
        T[..., -1, :] = -c[..., :D] / lead[..., None]
        Q, R = np.linalg.qr(T @ Q)
        acc += np.log(np.maximum(np.abs(np.diagonal(R, axis1=-2, axis2=-1)), tiny))
    return -np.sort(-acc / len(cells), axis=-1)


def _mean_log_abs(a, W):
    """``E log|a + W u|`` for ``u`` uniform in ``[-1/2, 1/2]`` (closed form)."""
    a = np.asarray(a, dtype=float)
    W = np.asarray(W, dtype=float)

    def F(x):
        ax = np.abs(x)
        return np.where(ax > 0, x * np.log(np.where(ax > 0, ax, 1.0)) - x, 0.0)

    safe = np.where(W > 0, W, 1.0)
    return np.where(W > 0, (F(a + safe / 2) - F(a - safe / 2)) / safe, np.log(np.abs(a)))


def ssh_bond_lyapunov(v, w, W_v, W_w=None):
    r"""Zero-energy Lyapunov exponent of the nearest-neighbour SSH chain with bond disorder, in closed
    form: intracell bonds ``v + W_v u``, intercell bonds ``w + W_w u`` (``u`` uniform in
    ``[-1/2, 1/2]``; ``W_w = W_v`` by default, the disorder of :func:`tnn.hamiltonians.ssh`),
    ``gamma = E log|v + W_v u| - E log|w + W_w u|``. ``gamma < 0``: winding 1; ``gamma > 0``: winding
    0; ``1/|gamma|`` is the localization length at ``E = 0``, which diverges at the strong-disorder
    transition (Mondragon-Shem, Hughes, Song, Prodan, PRL 113, 046802 (2014)). With equal widths
    ``gamma ~ (v^2 - w^2) c / W^2`` never changes sign: the phase survives every finite ``W`` while
    ``xi`` grows as ``W^2``; with unequal widths the transition is at a finite ``W``."""
    W_w = W_v if W_w is None else W_w
    return _mean_log_abs(v, W_v) - _mean_log_abs(w, W_w)


def ssh_bond_transition(v, w, ratio: float = 1.0, W_max: float = 20.0) -> float:
    """The disorder strength ``W_c`` (intracell width ``W``, intercell width ``ratio * W``) where
    :func:`ssh_bond_lyapunov` changes sign, by bisection on ``(0, W_max]``; NaN when it does not
    change sign there (e.g. equal widths)."""
    def g(W):
        return ssh_bond_lyapunov(v, w, W, ratio * np.asarray(W))

    g0 = float(g(1e-12))
    grid = np.linspace(1e-6, W_max, 4001)
    idx = np.flatnonzero(np.sign(g(grid)) != np.sign(g0))
    if len(idx) == 0:
        return float("nan")
    lo, hi = (grid[idx[0] - 1] if idx[0] > 0 else 1e-6), grid[idx[0]]
    for _ in range(80):
        mid = (lo + hi) / 2
        if np.sign(float(g(mid))) == np.sign(g0):
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _orthonormalize(M):
    """Gram-Schmidt QR of small ``(D, D, ...)`` matrices (trailing batch axes, so the arithmetic
    runs along the batch), columns orthogonalized twice (the transfer matrices can be
    ill-conditioned). Returns ``Q`` ``(D, D, ...)`` and ``|diag R|`` ``(D, ...)``."""
    D = M.shape[0]
    cols, norms = [], []
    floor = jnp.finfo(M.dtype).tiny
    for j in range(D):
        v = M[:, j]
        for q in cols:
            v = v - jnp.sum(jnp.conj(q) * v, axis=0) * q
        nv = jnp.sqrt(jnp.sum(jnp.real(v) ** 2 + jnp.imag(v) ** 2, axis=0))
        cols.append(v / jnp.maximum(nv, floor))
        norms.append(nv)
    return jnp.stack(cols, axis=1), jnp.stack(norms)


def lyapunov_scan(columns, ranges, n_blocks: int = LYAPUNOV_BLOCKS, warmup: int = LYAPUNOV_WARMUP):
    r"""Zero-energy Lyapunov exponents of one long chiral chain, jittable: ``gamma (D,)`` descending
    and their statistical errors ``err (D,)``.

    ``columns`` ``(n, R)``: ``columns[b, i] = h[b + ranges[i], b]``, the chiral-block column of cell
    ``b`` (as :func:`zero_energy_lyapunov` reads it; a common phase of all entries does not change
    the exponents), ``ranges`` static, ``D = max(ranges) - min(ranges)``. The recurrence
    ``sum_r conj(h[b + r, b]) psi(b + r) = 0`` is iterated with the transfer matrices of the cells
    and a QR (modified Gram-Schmidt) at every cell, as in :func:`zero_energy_lyapunov`.

    The chain (taken as periodic) is cut into ``n_blocks`` consecutive blocks of ``n // n_blocks``
    cells (the remainder dropped), iterated side by side (``vmap`` over blocks, ``lax.scan`` along
    them: ``n / n_blocks + warmup`` sequential steps instead of ``n``). Each block starts from the
    frame left by the ``warmup`` cells before it (not counted), so its growth rates are those of the
    sequential product up to ``exp(-warmup * delta)`` (``delta`` the spacing of the exponents) and a
    start-up term ``O(1 / block)``. ``gamma`` is the mean of the block exponents and ``err`` their
    standard error (batch means: the exponents self-average, ``err ~ 1/sqrt(n)``).
    ``min(ranges) + #{gamma < 0}`` is the winding number, ``1 / min|gamma|`` the localization length.
    """
    order = np.argsort(ranges)
    ranges = tuple(int(ranges[i]) for i in order)
    columns = jnp.asarray(columns)[:, order]
    rmin, rmax = ranges[0], ranges[-1]
    D = rmax - rmin
    if D < 1:
        raise ValueError(f"Argument `ranges` must span at least two distinct ranges, got {ranges}.")
    n = columns.shape[0]
    per = n // n_blocks if n_blocks >= 2 else 0
    if per < 1:
        raise ValueError(f"Argument `columns` must hold at least n_blocks = {n_blocks} >= 2 cells, got {n}.")
    c = jnp.zeros((n, D + 1), columns.dtype).at[:, np.asarray(ranges) - rmin].set(jnp.conj(columns))
    lead = c[:, D]
    # A vanishing leading bond makes the recurrence singular; floor it far below every other bond.
    floor = 1e-13 * jnp.max(jnp.abs(c), axis=1)
    lead = jnp.where(jnp.abs(lead) > floor, lead, floor.astype(lead.dtype))
    a = (-c[:, :D] / lead[:, None])[: per * n_blocks]
    # Block k: the `warmup` cells before it (periodically), then its own `per` cells.
    idx = (np.arange(n_blocks)[:, None] * per + np.arange(-warmup, per)[None, :]) % (per * n_blocks)
    # (warmup + per, D, n_blocks): scanned along the first axis, blocks last (the vectorized axis)
    a = jnp.transpose(a[idx], (1, 2, 0))
    counted = jnp.asarray(np.arange(-warmup, per) >= 0)

    def step(carry, x):
        Q, acc = carry  # (D, D, n_blocks), (D, n_blocks)
        a_b, keep = x
        last = jnp.sum(a_b[:, None] * Q, axis=0)  # row D-1 of T_b Q
        Q, r = _orthonormalize(jnp.concatenate([Q[1:], last[None]], axis=0))
        return (Q, acc + jnp.where(keep, jnp.log(jnp.maximum(r, jnp.finfo(r.dtype).tiny)), 0.0)), None

    Q0 = jnp.broadcast_to(jnp.eye(D, dtype=a.dtype)[..., None], (D, D, n_blocks))
    (_, acc), _ = jax.lax.scan(step, (Q0, jnp.zeros((D, n_blocks), a.real.dtype)), (a, counted), unroll=1)
    g = acc.T / per  # (n_blocks, D)
    gamma = jnp.mean(g, axis=0)
    err = jnp.std(g, axis=0, ddof=1) / np.sqrt(n_blocks)
    idx = jnp.argsort(-gamma)
    return gamma[idx], err[idx]
