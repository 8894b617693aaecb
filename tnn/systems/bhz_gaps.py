r"""The BHZ model's exact k-space gaps (:mod:`tnn.systems.bhz`'s reference; docs/conventions.md, "BHZ"):
the band gap and the spin gap over the whole zone from the (m, rho) plane, the arc search they use, and
the closed-form eigensystem of 2 x 2 Hermitian matrices (the spin sectors of the Bloch states)."""

from __future__ import annotations

import functools

import numpy as np
import jax
import jax.numpy as jnp

__all__ = ["exact_gaps", "arc_min", "split_2"]


def split_2(Ms):
    """Eigenvalues ``(..., 2)`` ascending and eigenvectors of Hermitian ``2 x 2`` matrices, closed form."""
    a, d = jnp.real(Ms[..., 0, 0]), jnp.real(Ms[..., 1, 1])
    b = Ms[..., 0, 1]
    mid, half = (a + d) / 2, (a - d) / 2
    r = jnp.sqrt(half**2 + jnp.abs(b) ** 2)
    # Upper eigenvector (b, r - half) or (r + half, b*): the larger of the two (never below r in norm).
    first = half <= 0
    u0 = jnp.where(first, b, (r + half).astype(b.dtype))
    u1 = jnp.where(first, (r - half).astype(b.dtype), jnp.conj(b))
    norm = jnp.sqrt(jnp.abs(u0) ** 2 + jnp.abs(u1) ** 2)
    ok = norm > 0
    inv = (1.0 / jnp.where(ok, norm, 1.0)).astype(b.dtype)
    up = jnp.stack([jnp.where(ok, u0 * inv, 1.0), jnp.where(ok, u1 * inv, 0.0)], axis=-1)
    lo = jnp.stack([-jnp.conj(up[..., 1]), jnp.conj(up[..., 0])], axis=-1)
    return jnp.stack([mid - r, mid + r], axis=-1), lo, up


#: samples of each ellipse arc in :func:`arc_min` (uniform in ``t``), the cluster's samples on either side
#: of the arc's point nearest ``m = 0`` (offsets ``h 2^-j``, ``h`` the uniform step), golden-section steps
_ARC_SAMPLES, _ARC_OCTAVES, _ARC_STEPS = 129, 52, 48
_GOLDEN = (np.sqrt(5.0) - 1) / 2


def arc_min(f, m0, a, b, *args):
    r"""``min_t f(m0 + a cos t, b sin t, *args)`` over ``t`` in ``[0, pi]``, ``a, b >= 0``: ``f`` on the ``(m,
    rho)`` plane along an upper half-ellipse (degenerate ones included).

    The objectives of :func:`exact_gaps` can vary on scales far below the ellipse's (``|delta|`` and
    ``rho``, when small), but only near ``m = 0``: the samples are uniform in ``t`` plus a geometric cluster
    about ``t_0``, the arc's point with ``m`` nearest 0 (offsets ``h 2^-j``: a resolution proportional to
    the distance from ``t_0``); the best sample is refined by golden-section steps between its nearest
    neighbours (the result is never above the best sample)."""
    def on_arc(t):
        return f(m0 + a * jnp.cos(t), b * jnp.sin(t), *args)

    dtype = jnp.result_type(m0)
    h = np.pi / (_ARC_SAMPLES - 1)
    t0 = jnp.arccos(jnp.clip(-m0 / jnp.where(a > 0, a, 1.0), -1.0, 1.0))
    t0 = jnp.where(a > 0, t0, jnp.where(m0 > 0, np.pi, 0.0))
    off = h * 2.0 ** -np.arange(_ARC_OCTAVES)
    ts = jnp.concatenate([jnp.linspace(0.0, np.pi, _ARC_SAMPLES, dtype=dtype), t0[None],
                          jnp.clip(t0 + jnp.asarray(np.concatenate([-off, off]), dtype), 0.0, np.pi)])
    ts = jax.lax.stop_gradient(ts)  # the minimum's derivative is f's at the minimizer (envelope theorem)
    fs = on_arc(ts)
    i = jnp.argmin(fs)
    # the nearest samples on either side (some coincide: clipped, or on the uniform grid)
    lo, hi = jnp.max(jnp.where(ts < ts[i], ts, 0.0)), jnp.min(jnp.where(ts > ts[i], ts, np.pi))

    def step(_, bracket):
        lo, hi = bracket
        x1, x2 = hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo)
        left = on_arc(x1) <= on_arc(x2)
        return jnp.where(left, lo, x1), jnp.where(left, x2, hi)

    lo, hi = jax.lax.fori_loop(0, _ARC_STEPS, step, (lo, hi))
    return jnp.minimum(fs[i], on_arc(jax.lax.stop_gradient((lo + hi) / 2)))


def exact_gaps(A, B, M, delta):
    r"""Band gap and spin gap of the clean model over the whole zone, exact (``docs/conventions.md``, "BHZ").

    ``K = (A sin kx s_x sigma_z + A sin ky s_y) / rho`` (``rho = |A| |(sin kx, sin ky)|``) commutes with
    ``H(k)`` and anticommutes with ``s_z``; on its eigenspace ``K = kappa`` ``H = m tau_3 + (delta +
    kappa rho) tau_4`` (``tau_3 = sigma_z``, ``tau_4 = s_y sigma_y``), so the bands are ``+-E_kappa``,
    ``E_kappa^2 = m^2 + (rho + kappa delta)^2``, and the occupied pair is one state of each sector.
    ``P S_z P`` is off-diagonal in that pair: its eigenvalues are ``+-|n_- + n_+| / 2`` with the unit
    vectors ``n_- = (m, delta - rho) / E_-``, ``n_+ = (m, -delta - rho) / E_+`` (``s_z H(delta) s_z =
    H(-delta)``; ``delta >= 0`` here, ``|delta|`` in general). Per ``k``: the direct gap ``2 E_-`` and the
    spin gap ``|n_- + n_+| / 2``, both functions of ``(m(k), rho(k))`` only; the indirect gap is ``2 min_k
    E_-`` (the bands are ``+-E``).

    With ``s = cos kx + cos ky``, ``m = M - 4B + 2Bs`` and, over the ``k`` of one ``s``, ``rho`` takes every
    value between ``rho_lo(s) = |A| sqrt(|s| (2 - |s|))`` and ``rho_hi(s) = |A| sqrt(2 - s^2 / 2)``: the zone
    maps onto the region ``Omega`` of the ``(m, rho)`` plane between the upper half-ellipse ``rho_hi`` and
    the two upper half-ellipses ``rho_lo`` (``s >= 0``, ``s <= 0``). The band gap is twice the distance
    from ``(0, |delta|)`` to ``Omega``: exactly 0 where ``Omega`` holds that point (``m(k) = 0`` and ``rho(k) =
    |delta|`` for a real ``k``: the TRIM without mixing, a ring of ``k`` over an interval of ``M`` with it),
    else the distance to the nearest arc. The spin gap is ``cos(theta / 2)``, ``theta`` the angle that
    ``(0, +-|delta|)`` subtend at ``(m, -rho)``: exactly 0 where ``Omega`` meets ``m = 0``, ``rho < |delta|``,
    else (``theta`` harmonic off that segment) its minimum lies on the arcs. Both minima along an arc:
    :func:`arc_min`. Without mixing the spin gap is 1 (``S_z`` conserved)."""
    A, delta, b = jnp.abs(A), jnp.abs(delta), jnp.abs(B)
    c = M - 4 * B
    # the s of m(s) = 0; B = 0: m = M everywhere, and every rho in [0, sqrt(2) |A|] is reached at s = 0
    s0 = jnp.where(b > 0, -c / jnp.where(b > 0, 2 * B, 1.0), 0.0)
    a0 = jnp.abs(s0)
    on_m0 = (a0 <= 2) & ((b > 0) | (M == 0))
    rho_lo2, rho_hi2 = A**2 * a0 * (2 - a0), A**2 * (2 - s0**2 / 2)
    band_closed = on_m0 & (rho_lo2 <= delta**2) & (delta**2 <= rho_hi2)
    spin_closed = on_m0 & (rho_lo2 < delta**2)

    def objective(m, rho, spin):
        # spin: the spin gap |n_- + n_+| / 2; else E_-^2 (the squared distance to (0, delta))
        e1sq = m**2 + (delta - rho) ** 2
        e1, e2 = jnp.sqrt(e1sq), jnp.sqrt(m**2 + (delta + rho) ** 2)
        ok = e1 * e2 > 0  # elsewhere the band gap is closed there: no spin sectors (C_s is NaN)
        i1, i2 = 1 / jnp.where(ok, e1, 1.0), 1 / jnp.where(ok, e2, 1.0)
        sg = jnp.where(ok, jnp.sqrt((m * (i1 + i2)) ** 2 + ((delta - rho) * i1 - (delta + rho) * i2) ** 2) / 2, 1.0)
        return jnp.where(spin, sg, e1sq)

    # the arcs s = 2 cos t (rho_hi) and s = +-1 + cos t (rho_lo), t in [0, pi]: centre, semi-axes in m, rho;
    # both objectives on the three arcs in one batched search
    m0 = jnp.stack([c, c + 2 * B, c - 2 * B])
    a, rb = jnp.stack([4 * b, 2 * b, 2 * b]), jnp.stack([np.sqrt(2.0) * A, A, A])
    search = jax.vmap(jax.vmap(functools.partial(arc_min, objective), (0, 0, 0, None)), (None, None, None, 0))
    d2, sg = jnp.min(search(m0, a, rb, jnp.asarray([False, True])), axis=1)
    gap = jnp.where(band_closed, 0.0, 2 * jnp.sqrt(d2))
    spin_gap = jnp.where(delta == 0, 1.0, jnp.where(spin_closed, 0.0, sg))
    return gap, spin_gap
