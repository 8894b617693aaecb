r"""Curvature of a loss at a parameter point: Hessian, Hessian-vector products, Lanczos extremes,
stochastic Lanczos quadrature (SLQ) densities, Hutchinson traces and summary figures.

Every function takes a scalar loss ``loss(params) -> ()`` and ``params``, any pytree of real
arrays; the flat index order is ``ravel_pytree``'s (:mod:`tnn.landscape`). Lanczos, SLQ and
Hutchinson run on the matrix-free library ``matfree``.
"""

from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks
from tnn.landscape.pytrees import LossFn, Params, check_loss, flat_params, like_params

__all__ = [
    "hessian",
    "hvp",
    "hessian_eigs",
    "slq",
    "spectral_density",
    "gaussian_density",
    "hessian_trace",
    "curvature_summary",
    "BREAKDOWN_RTOL",
]


def _flat_matvec(loss, params):
    """``(x0, Hv)``: the flat parameters and the flat HVP ``v (P,) -> (P,)`` at ``x0``.

    The gradient is linearized once (``jax.linearize``: forward-over-reverse, the primal pass
    traced a single time and its residuals kept), so each of the many products of Lanczos, SLQ and
    Hutchinson inside matfree's ``fori_loop`` evaluates only the tangent part. Measured on the
    study's CNN (64 chains of 32 cells, 40 steps, 2 loaded CPU cores): Lanczos cost 3.1-3.4x
    (40 x one jitted HVP) with a ``jvp`` of ``grad`` per step, 2.1-2.6x with the linearization; a
    Python loop of the same 40 jitted HVPs costs 1.1x, so the rest is the price of running the
    products inside XLA's CPU while loop."""
    x0, unravel = flat_params(params)
    grad = jax.grad(lambda x: loss(unravel(x)))
    _, matvec = jax.linearize(grad, x0)
    return x0, matvec


def hessian(loss: LossFn, params: Params, chunk: int = 16) -> jax.Array:
    """The full Hessian ``(P, P)`` of ``loss`` at ``params`` in ``ravel_pytree`` order.

    Forward-over-reverse HVPs against the unit vectors, ``chunk`` at a time (``lax.map`` with a
    batch: memory grows as ``chunk`` HVPs, not ``P``; all ``P`` at once took 6 GB for topo's 149
    parameters on 64 chains); meant for small models. The Hessian is symmetrized (``(H + H^T) / 2``)."""
    check_loss(loss)
    chunk = _checks.check_int("chunk", chunk, 1)
    x0, unravel = flat_params(params)
    g = jax.grad(lambda x: loss(unravel(x)))
    H = jax.lax.map(lambda e: jax.jvp(g, (x0,), (e,))[1], jnp.eye(x0.shape[0], dtype=x0.dtype),
                    batch_size=min(chunk, x0.shape[0]))
    return 0.5 * (H + H.T)


def hvp(loss: LossFn, params: Params, v) -> Params:
    """Hessian-vector product ``H v`` (forward-over-reverse: ``jvp`` of ``grad``).

    Args:
      loss: ``params -> scalar``.
      params: pytree of real arrays.
      v: pytree like ``params`` (or a flat ``(P,)`` vector in ``ravel_pytree`` order).

    Returns:
      ``H v`` as a pytree like ``params``.
    """
    check_loss(loss)
    v = like_params(params, v, "v")
    return jax.jvp(jax.grad(loss), (params,), (v,))[1]


def _default_steps(k: int, P: int) -> int:
    return min(P, max(4 * k, 40))


#: A Lanczos coefficient ``beta_j`` below this fraction of the largest ``|T|`` entry so far is a
#: breakdown: the Krylov space is (numerically) invariant after ``j + 1`` steps.
BREAKDOWN_RTOL = 1e-10


def _tridiag(matvec, v0, num_steps: int):
    """Lanczos tridiagonal matrix ``(m, m)`` of ``matvec`` from ``v0`` (``matfree``), cut at a breakdown.

    Network Hessians on a batch are often of low rank (a 227-parameter MLP on 12 samples: rank 13),
    so the Krylov space closes after ``j + 1 < m`` steps. ``matfree`` does not restart there: it
    normalizes the rounding-level residual and goes on with a vector that is no longer orthogonal,
    and the Ritz values after that are garbage (measured: 1e3 for a spectrum within [-1.1, 1.4]).
    At the first ``beta_j`` below :data:`BREAKDOWN_RTOL` of the largest entry so far the leading
    ``(j + 1)`` block is kept -- its Ritz values are then exact eigenvalues, every distinct one that
    ``v0`` overlaps -- and the rest is replaced by copies of ``T_00`` (the Rayleigh quotient of
    ``v0``, inside the spectrum, so never a spurious extreme) decoupled from the block (zero
    quadrature weight in :func:`slq`).
    """
    from matfree import decomp

    # Full reorthogonalization: without it Ritz values of a Hessian with a large near-null space
    # come back as spurious copies ("ghosts"); no custom VJP: nothing differentiates through here.
    alg = decomp.tridiag_sym(num_steps, materialize=True, reortho="full", custom_vjp=False)
    T = alg(matvec, v0).J_small
    m = num_steps
    if m == 1:
        return T
    beta = jnp.abs(jnp.diagonal(T, -1))
    alpha = jnp.abs(jnp.diagonal(T))
    scale = jax.lax.cummax(jnp.maximum(alpha[:-1], alpha[1:]) + jnp.nan_to_num(beta, nan=0.0, posinf=0.0), axis=0)
    bad = ~(beta > BREAKDOWN_RTOL * scale)  # NaN counts as bad
    size = jnp.where(jnp.any(bad), jnp.argmax(bad) + 1, m)
    idx = jnp.arange(m)
    keep = (idx[:, None] < size) & (idx[None, :] < size)
    fill = jnp.where(idx >= size, T[0, 0], jnp.zeros((), T.dtype))
    return jnp.where(keep, T, jnp.zeros((), T.dtype)) + jnp.diag(fill)


def hessian_eigs(loss: LossFn, params: Params, k: int, key: jax.Array, num_steps: int | None = None):
    """The ``k`` smallest and ``k`` largest Hessian eigenvalues by Lanczos (``matfree``).

    Runs ``num_steps`` Lanczos steps (``matfree.decomp.tridiag_sym`` with full reorthogonalization,
    one HVP each) from a Gaussian start drawn from ``key``, and returns the extreme Ritz values.
    With ``num_steps = P`` they are the exact eigenvalues (up to rounding); the extremes converge
    first, in ``O(sqrt(condition))`` steps for well separated ones.

    Args:
      loss: ``params -> scalar``; params: pytree with ``P`` scalars in all.
      k: ``1 <= k <= min(P, num_steps)``.
      key: PRNG key of the start vector.
      num_steps: Lanczos steps (HVPs), ``k <= num_steps <= P``; default ``min(P, max(4k, 40))``.

    Returns:
      ``(smallest, largest)``, each ascending ``(k,)``.
    """
    check_loss(loss)
    x0, matvec = _flat_matvec(loss, params)
    P = x0.shape[0]
    k = _checks.check_int("k", k, 1, P)
    m = _default_steps(k, P) if num_steps is None else _checks.check_int("num_steps", num_steps, k, P)
    v0 = jax.random.normal(key, (P,), x0.dtype)
    T = _tridiag(matvec, v0, m)
    theta = jnp.linalg.eigvalsh(T)
    return theta[:k], theta[m - k:]


def slq(loss: LossFn, params: Params, key: jax.Array, num_steps: int = 64, num_probes: int = 8):
    r"""Stochastic Lanczos quadrature nodes and weights of the Hessian spectrum.

    For each of ``num_probes`` Gaussian probes (``matfree.stochtrace.sampler_normal``), normalized,
    ``num_steps`` Lanczos steps give ``T = Y diag(theta) Y^T``; the quadrature of the spectral
    measure ``(1/P) sum_i delta(l - lambda_i)`` is ``sum_j tau_j delta(l - theta_j)`` with
    ``tau_j = Y_{0j}^2`` (so ``sum_j tau_j = 1`` per probe).

    Returns:
      ``(nodes, weights)``, each ``(num_probes, num_steps)``.
    """
    from matfree import stochtrace

    check_loss(loss)
    x0, matvec = _flat_matvec(loss, params)
    P = x0.shape[0]
    m = _checks.check_int("num_steps", num_steps, 1, P)
    n = _checks.check_int("num_probes", num_probes, 1)
    probes = stochtrace.sampler_normal(x0, num=n)(key)

    def one(v):
        T = _tridiag(matvec, v / jnp.linalg.norm(v), m)
        theta, Y = jnp.linalg.eigh(T)
        return theta, Y[0] ** 2

    # lax.map, not vmap: one probe's HVPs at a time keeps memory at one HVP.
    return jax.lax.map(one, probes)


def gaussian_density(grid, nodes, weights, sigma):
    """``mean_probes sum_j weights_j N(grid; nodes_j, sigma^2)`` on ``grid`` ``(G,)`` from SLQ
    ``nodes`` and ``weights`` ``(num_probes, num_steps)`` (not renormalized to the grid)."""
    g = grid[:, None, None]
    w = weights[None] * jnp.exp(-0.5 * ((g - nodes[None]) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    return w.sum(axis=(1, 2)) / nodes.shape[0]


def spectral_density(
    loss: LossFn,
    params: Params,
    key: jax.Array,
    num_steps: int = 64,
    num_probes: int = 8,
    grid_size: int = 512,
    sigma: float | None = None,
):
    r"""Hessian eigenvalue density by stochastic Lanczos quadrature (:func:`slq`), Gaussian-broadened.

    ``rho(l) = mean_probes sum_j tau_j N(l; theta_j, sigma^2)``. The grid runs from the smallest to
    the largest node, padded by ``6 sigma`` on each side, so it contains the extreme eigenvalues
    (Lanczos nodes lie inside the spectrum and its extremes converge first); ``rho`` is divided
    by its trapezoid integral over the grid (a correction of order ``exp(-18)`` plus the grid's
    quadrature error), so it integrates to 1 over ``grid``.

    Args:
      num_steps, num_probes: Lanczos steps per probe and probes (``num_steps <= P``).
      grid_size: number of grid points (>= 2).
      sigma: broadening (> 0); default 1% of the node range (or of ``|node|`` for a
        single-valued spectrum, or 1 for the zero matrix).

    Returns:
      ``(grid, density)``, each ``(grid_size,)``.
    """
    n_grid = _checks.check_int("grid_size", grid_size, 2)
    if sigma is not None:
        sigma = _checks.check_real("sigma", sigma, 0, lo_open=True)
    nodes, weights = slq(loss, params, key, num_steps, num_probes)
    lo, hi = jnp.min(nodes), jnp.max(nodes)
    if sigma is None:
        scale = jnp.where(hi > lo, hi - lo, jnp.where(jnp.abs(hi) > 0, jnp.abs(hi), jnp.ones((), hi.dtype)))
        s = 0.01 * scale
    else:
        s = jnp.asarray(sigma, nodes.dtype)
    grid = jnp.linspace(lo - 6 * s, hi + 6 * s, n_grid)
    rho = gaussian_density(grid, nodes, weights, s)
    return grid, rho / jnp.trapezoid(rho, grid)


def hessian_trace(loss: LossFn, params: Params, key: jax.Array, num_probes: int = 64) -> jax.Array:
    """Hutchinson's estimate of ``tr H`` with Rademacher probes (``matfree.stochtrace``):
    ``mean_v v^T H v`` over ``num_probes`` probes. Unbiased; variance ``2 sum_{i!=j} H_ij^2 / n``."""
    from matfree import stochtrace

    check_loss(loss)
    x0, matvec = _flat_matvec(loss, params)
    n = _checks.check_int("num_probes", num_probes, 1)
    est = stochtrace.estimator_monte_carlo(stochtrace.monte_carlo_trace(), stochtrace.sampler_signs(x0, num=n))
    return est(matvec, key)


def curvature_summary(eigenvalues, weights=None, rtol: float = 1e-8) -> dict[str, float]:
    """Summary figures of a Hessian spectrum (NumPy, outside ``jit``).

    Args:
      eigenvalues: exact eigenvalues ``(P,)`` (e.g. ``eigvalsh(hessian(...))``), or SLQ nodes
        ``(num_probes, num_steps)``.
      weights: SLQ weights like ``eigenvalues`` (None: every eigenvalue counts ``1/P``).
      rtol: eigenvalues with ``|l| <= rtol * max|l|`` count as zero (neither positive nor negative).

    Returns:
      dict: ``top`` (largest eigenvalue), ``bottom`` (smallest), ``smallest_positive``,
      ``condition`` (``top / smallest_positive``; inf if none is positive), ``negative_fraction``
      (spectral weight below ``-rtol max|l|``), ``zero_fraction``, ``negative_mass`` (weighted mean
      of ``min(l, 0)``, how deep the negative curvature is).
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    if weights is None:
        w = np.full(lam.shape, 1.0 / lam.size)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != lam.shape:
            raise ValueError(f"Argument `weights` must have the shape of `eigenvalues` {lam.shape}, but has {w.shape}.")
        w = w / w.sum()
    rtol = _checks.check_real("rtol", rtol, 0)
    lam, w = lam.ravel(), w.ravel()
    tol = rtol * np.max(np.abs(lam))
    pos = lam[lam > tol]
    smallest_pos = float(pos.min()) if pos.size else float("nan")
    top = float(lam.max())
    return {
        "top": top,
        "bottom": float(lam.min()),
        "smallest_positive": smallest_pos,
        "condition": float(top / smallest_pos) if pos.size else float("inf"),
        "negative_fraction": float(w[lam < -tol].sum()),
        "zero_fraction": float(w[np.abs(lam) <= tol].sum()),
        "negative_mass": float((w * np.minimum(lam, 0.0)).sum()),
    }
