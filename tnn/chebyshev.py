"""Chebyshev series of the kernel polynomial method (:mod:`tnn.kpm`): the Jackson kernel, the step
function's coefficients, and the loops that apply ``sum_n c_n T_n(Ht)`` to ``(N, k)`` blocks or take
their moments, two steps per iteration with no rotating loop buffer. Formulas: docs/conventions.md,
"Kernel polynomial method"."""

from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks
from tnn.operators import Operator

__all__ = ["jackson_kernel", "step_coefficients", "doubled", "as_dtype", "barrier", "dot", "series", "fermi_weight",
           "moments", "kernel_coef", "x_fermi"]


def jackson_kernel(num_moments: int) -> np.ndarray:
    r"""Jackson damping factors ``g_n``, ``n = 0..M-1`` (``g_0 = 1``; RMP 78, 275, Eq. 71)."""
    M = _checks.check_int("num_moments", num_moments, 1)
    n = np.arange(M)
    q = np.pi / (M + 1)
    return ((M - n + 1) * np.cos(q * n) + np.sin(q * n) / np.tan(q)) / (M + 1)


def step_coefficients(num_moments: int, x_fermi):
    r"""Chebyshev coefficients ``c_n`` (``n < M``) of ``theta(x_F - x)`` on ``[-1, 1]`` (no kernel):
    ``c_0 = 1 - arccos(x_F)/pi``, ``c_n = -2 sin(n arccos x_F) / (n pi)``. ``x_fermi`` may be traced."""
    x = jnp.asarray(x_fermi)
    th = jnp.arccos(jnp.clip(x, -1.0, 1.0))
    n = jnp.arange(1, num_moments, dtype=th.dtype)
    return jnp.concatenate([(1.0 - th / np.pi)[None], -2.0 * jnp.sin(n * th) / (n * np.pi)])


def doubled(op: Operator, emin, emax) -> Operator:
    """``2 Ht = 2 (H - c) / a``: a Chebyshev step ``T_{n+1} = (2 Ht) T_n - T_{n-1}`` is one product."""
    return op.scaled(4.0 / (emax - emin), -2.0 * (emax + emin) / (emax - emin))


def as_dtype(a, like):
    """``a`` in the common dtype of ``a`` and ``like`` (the promotion JAX's standard rule does
    implicitly, made explicit: the same numbers, and ``jax_numpy_dtype_promotion="strict"`` runs it)."""
    return a.astype(np.result_type(a.dtype, like.dtype))


def barrier(t):
    # XLA would otherwise fuse one stencil product into the next and recompute it per output entry.
    return jax.lax.optimization_barrier(t)


def dot(y, t):
    """``sum_i conj(y_i) t_i`` per column, ``(k,)``. Summed over blocks of rows first, behind a barrier:
    XLA's CPU backend splits one long sum into a tree of windows and materializes ``conj(y) t``, an
    ``(N, k)`` temporary written and read once more per Chebyshev step; a short sum fuses the product."""
    n = t.shape[0]
    b = next((d for d in (32, 16, 8, 4, 2) if n % d == 0 and n > d), 1)
    p = jnp.conj(y) * t
    if b == 1:
        return jnp.sum(p, axis=0)
    return jnp.sum(barrier(jnp.sum(p.reshape(n // b, b, -1), axis=1)), axis=0)


def series(op2: Operator, coef, v, n_dos: int = 0):
    """``sum_n coef_n T_n(Ht) v`` (``op2 = 2 Ht``), ``v`` ``(N, k)``; with ``n_dos > 0`` also the moments
    ``v_j^dag T_n v_j`` of the first ``n_dos`` columns, ``(M, n_dos)`` (else None), from the same steps.
    Two steps per loop iteration, each overwriting the older iterate, so no loop buffer rotates (no
    copies); alive: the two iterates and the sum (``v`` only as the first iterate, and its first
    ``n_dos`` columns)."""
    M = coef.shape[0]
    coef = as_dtype(coef, v)
    n_dos = min(n_dos, v.shape[1])
    vd = v[:, :n_dos]

    def dos(t):
        return dot(vd, t[:, :n_dos])

    t0, t1 = v, op2 @ v / 2
    acc = coef[0] * t0 + coef[1] * t1
    first = [jnp.stack([dos(t0), dos(t1)])] if n_dos else []

    def body(carry, c):
        t0, t1, acc = carry
        t0 = barrier(op2 @ t1 - t0)
        t1 = barrier(op2 @ t0 - t1)
        return (t0, t1, acc + c[0] * t0 + c[1] * t1), (jnp.stack([dos(t0), dos(t1)]) if n_dos else None)

    pairs = (M - 2) // 2
    (t0, t1, acc), mus = jax.lax.scan(body, (t0, t1, acc), coef[2:2 + 2 * pairs].reshape(pairs, 2))
    mu = first + ([mus.reshape(-1, n_dos)] if n_dos else [])
    if (M - 2) % 2:
        t0 = op2 @ t1 - t0
        acc = acc + coef[-1] * t0
        mu += [dos(t0)[None]] if n_dos else []
    return acc, (jnp.concatenate(mu) if n_dos else None)


def fermi_weight(d, xf, num_moments: int):
    """Share of the probes' spectral weight within one kernel width ``pi / M`` of ``x_F`` per column:
    the Jackson series of the box ``[x_F - pi/M, x_F + pi/M]`` on the moments ``d_n = v^dag T_n v``
    ``(M, n)`` (real parts)."""
    w = np.pi / num_moments
    box = kernel_coef(num_moments, xf + w, d.dtype) - kernel_coef(num_moments, xf - w, d.dtype)
    return jnp.sum(box[:, None] * d, axis=0) / d[0]


def moments(op2: Operator, y, x, num_moments: int):
    """``mu_n = sum_i conj(y_i) (T_n(Ht) x)_i`` per column, ``(M, k)`` (two steps per iteration)."""
    def body(carry, _):
        t0, t1 = carry
        t0 = barrier(op2 @ t1 - t0)
        t1 = barrier(op2 @ t0 - t1)
        return (t0, t1), jnp.stack([dot(y, t0), dot(y, t1)])

    t0, t1 = x, op2 @ x / 2
    first = jnp.stack([dot(y, t0), dot(y, t1)])
    (t0, t1), mus = jax.lax.scan(body, (t0, t1), None, length=(num_moments - 2) // 2)
    out = [first, mus.reshape(-1, y.shape[1])]
    if (num_moments - 2) % 2:
        out.append(dot(y, op2 @ t1 - t0)[None])
    return jnp.concatenate(out)


def kernel_coef(num_moments: int, x_fermi, dtype):
    return jnp.asarray(jackson_kernel(num_moments), dtype) * step_coefficients(num_moments, x_fermi).astype(dtype)


def x_fermi(emin, emax, fermi_energy):
    return (fermi_energy - (emax + emin) / 2) / ((emax - emin) / 2)
