r"""Curvature and loss-landscape tools on any pytree of parameters.

Every function takes a scalar loss ``loss(params) -> ()`` (a closure over one batch, e.g.
``lambda p: make_loss(model)(p, x, t)``) and ``params``, any pytree of real arrays (the params of a
:mod:`tnn.models` model). Index convention: the flat parameter vector of length ``P`` is
``jax.flatten_util.ravel_pytree(params)[0]``; the Hessian is ``(P, P)`` in that order.

Curvature:

* :func:`hessian` -- the full ``(P, P)`` Hessian (forward-over-reverse Jacobian of the gradient);
  for small models (topo has a few hundred parameters).
* :func:`hvp` -- one Hessian-vector product, forward-over-reverse: ``jvp`` of ``grad`` (Pearlmutter
  1994), about the cost of two to three gradients.
* :func:`hessian_eigs` -- the ``k`` smallest and ``k`` largest eigenvalues by Lanczos with full
  reorthogonalization (``matfree.decomp.tridiag_sym``; the Ritz values of the tridiagonal matrix).
* :func:`slq` / :func:`spectral_density` -- stochastic Lanczos quadrature (Lin, Saad & Yang, SIAM
  Rev. 58, 34 (2016); for network Hessians Ghorbani, Krishnan & Xiao, ICML 2019): for each random
  probe ``v`` the Lanczos nodes ``theta_j`` and weights ``tau_j = (e_1 . y_j)^2``, and the density
  ``rho(l) = mean_v sum_j tau_j N(l; theta_j, sigma^2)``.
* :func:`hessian_trace` -- Hutchinson's estimator ``E[v^T H v]`` with Rademacher probes
  (``matfree.stochtrace``).
* :func:`curvature_summary` -- top eigenvalue, condition number (largest / smallest positive
  eigenvalue) and the fraction of negative curvature, from exact eigenvalues or SLQ nodes.

Lanczos, SLQ and Hutchinson run on the matrix-free library ``matfree`` (Kraemer et al.), which is
written for JAX (jit, vmap, pytrees) and measured fit for this use: its Lanczos costs
``num_steps`` HVPs plus an ``O(P num_steps^2)`` reorthogonalization, which is small next to an HVP
for our models (``experiments/bench_landscape.py`` measures the ratio).

Landscape slices (Li, Xu, Taylor, Studer & Goldstein, "Visualizing the loss landscape of neural
nets", NeurIPS 2018):

* :func:`random_direction` -- a Gaussian direction, filter-normalized: each filter (the slice of a
  weight array along its last axis: a Dense unit's or a convolution's output channel) is rescaled
  to the norm of the weights it perturbs.
* :func:`slice_1d`, :func:`slice_2d` -- losses at ``params + a d1 (+ b d2)``.
* :func:`line_barrier` -- the straight line between two parameter points (e.g. a topo init and
  the exact solution) and the barrier height on it.

All functions are pure and traceable (argument checks look at shapes only), float64 whenever the
parameters are float64, and run unchanged on CPU or GPU. :func:`analyze` runs them on a model and a
batch and :func:`write_analysis` writes the JSON and figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

__all__ = [
    "LossFn",
    "hessian",
    "hvp",
    "hessian_eigs",
    "slq",
    "spectral_density",
    "hessian_trace",
    "curvature_summary",
    "random_direction",
    "slice_1d",
    "slice_2d",
    "line_barrier",
    "analyze",
    "write_analysis",
]

Params = Any


class LossFn(Protocol):
    def __call__(self, params: Params) -> jax.Array: ...


# ----------------------------------------------------------------------------- checks
def _check_loss(loss) -> None:
    if not callable(loss):
        raise ValueError(f"Argument `loss` must be a callable params -> scalar, got {type(loss).__name__}.")


def _flat(params, name: str = "params"):
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError(f"Argument `{name}` must hold at least one array, got an empty pytree.")
    for a in leaves:
        if not jnp.issubdtype(jnp.result_type(a), jnp.floating):
            raise ValueError(f"Argument `{name}` must hold real floating arrays only, got dtype {jnp.result_type(a)}.")
    x, unravel = ravel_pytree(params)
    return x, unravel


def _like(params, v, name: str):
    """``v`` as a pytree like ``params``: a pytree of the same structure and shapes, or a flat
    vector ``(P,)`` in ``ravel_pytree`` order. Raises ``ValueError`` naming ``name`` otherwise."""
    x, unravel = _flat(params)
    ts, tv = jax.tree_util.tree_structure(params), jax.tree_util.tree_structure(v)
    if tv == ts:
        shp = [jnp.shape(a) for a in jax.tree_util.tree_leaves(params)]
        got = [jnp.shape(a) for a in jax.tree_util.tree_leaves(v)]
        if shp != got:
            raise ValueError(f"Argument `{name}` must have the leaf shapes of `params` {shp}, but has {got}.")
        return jax.tree_util.tree_map(lambda a, p: jnp.asarray(a, jnp.result_type(p)), v, params)
    if isinstance(v, (jax.Array, np.ndarray)) and jnp.shape(v) == x.shape:
        return unravel(jnp.asarray(v, x.dtype))
    raise ValueError(
        f"Argument `{name}` must be a pytree like `params` or a flat vector of shape ({x.shape[0]},), "
        f"got {type(v).__name__} of shape {jnp.shape(v) if hasattr(v, 'shape') else '-'}."
    )


def _pos_int(name: str, v, lo: int = 1, hi: int | None = None) -> int:
    ok = isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
    if not ok or v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"Argument `{name}` must be an int {rng}, got {v!r}.")
    return int(v)


def _flat_matvec(loss, params):
    """``(x0, Hv)``: the flat parameters and the flat HVP ``v (P,) -> (P,)`` at ``x0``.

    The gradient is linearized once (``jax.linearize``: forward-over-reverse, the primal pass
    traced a single time and its residuals kept), so each of the many products of Lanczos, SLQ and
    Hutchinson inside matfree's ``fori_loop`` evaluates only the tangent part. Measured on the
    study's CNN (64 chains of 32 cells, 40 steps, 2 loaded CPU cores): Lanczos cost 3.1-3.4x
    (40 x one jitted HVP) with a ``jvp`` of ``grad`` per step, 2.1-2.6x with the linearization; a
    Python loop of the same 40 jitted HVPs costs 1.1x, so the rest is the price of running the
    products inside XLA's CPU while loop."""
    x0, unravel = _flat(params)
    grad = jax.grad(lambda x: loss(unravel(x)))
    _, matvec = jax.linearize(grad, x0)
    return x0, matvec


# ----------------------------------------------------------------------------- curvature
def hessian(loss: LossFn, params: Params) -> jax.Array:
    """The full Hessian ``(P, P)`` of ``loss`` at ``params`` in ``ravel_pytree`` order.

    Forward-over-reverse (``jacfwd`` of ``grad``): ``P`` HVPs at once, so memory grows as ``P``
    times one HVP; meant for small models."""
    _check_loss(loss)
    x0, unravel = _flat(params)
    return jax.jacfwd(jax.grad(lambda x: loss(unravel(x))))(x0)


def hvp(loss: LossFn, params: Params, v) -> Params:
    """Hessian-vector product ``H v`` (forward-over-reverse: ``jvp`` of ``grad``).

    Args:
      loss: ``params -> scalar``.
      params: pytree of real arrays.
      v: pytree like ``params`` (or a flat ``(P,)`` vector in ``ravel_pytree`` order).

    Returns:
      ``H v`` as a pytree like ``params``.
    """
    _check_loss(loss)
    v = _like(params, v, "v")
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
    _check_loss(loss)
    x0, matvec = _flat_matvec(loss, params)
    P = x0.shape[0]
    k = _pos_int("k", k, 1, P)
    m = _default_steps(k, P) if num_steps is None else _pos_int("num_steps", num_steps, k, P)
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

    _check_loss(loss)
    x0, matvec = _flat_matvec(loss, params)
    P = x0.shape[0]
    m = _pos_int("num_steps", num_steps, 1, P)
    n = _pos_int("num_probes", num_probes, 1)
    probes = stochtrace.sampler_normal(x0, num=n)(key)

    def one(v):
        T = _tridiag(matvec, v / jnp.linalg.norm(v), m)
        theta, Y = jnp.linalg.eigh(T)
        return theta, Y[0] ** 2

    # lax.map, not vmap: one probe's HVPs at a time keeps memory at one HVP.
    return jax.lax.map(one, probes)


def _density_on(grid, nodes, weights, sigma):
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
    n_grid = _pos_int("grid_size", grid_size, 2)
    if sigma is not None and not (isinstance(sigma, (int, float, np.floating, np.integer)) and np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"Argument `sigma` must be a finite number > 0 or None, got {sigma!r}.")
    nodes, weights = slq(loss, params, key, num_steps, num_probes)
    lo, hi = jnp.min(nodes), jnp.max(nodes)
    if sigma is None:
        scale = jnp.where(hi > lo, hi - lo, jnp.where(jnp.abs(hi) > 0, jnp.abs(hi), jnp.ones((), hi.dtype)))
        s = 0.01 * scale
    else:
        s = jnp.asarray(sigma, nodes.dtype)
    grid = jnp.linspace(lo - 6 * s, hi + 6 * s, n_grid)
    rho = _density_on(grid, nodes, weights, s)
    return grid, rho / jnp.trapezoid(rho, grid)


def hessian_trace(loss: LossFn, params: Params, key: jax.Array, num_probes: int = 64) -> jax.Array:
    """Hutchinson's estimate of ``tr H`` with Rademacher probes (``matfree.stochtrace``):
    ``mean_v v^T H v`` over ``num_probes`` probes. Unbiased; variance ``2 sum_{i!=j} H_ij^2 / n``."""
    from matfree import stochtrace

    _check_loss(loss)
    x0, matvec = _flat_matvec(loss, params)
    n = _pos_int("num_probes", num_probes, 1)
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
    if not (isinstance(rtol, (int, float)) and rtol >= 0):
        raise ValueError(f"Argument `rtol` must be a number >= 0, got {rtol!r}.")
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


# ----------------------------------------------------------------------------- slices
def random_direction(key: jax.Array, params: Params, filter_normalize: bool = True, ignore_1d: bool = False) -> Params:
    """A Gaussian direction like ``params``, filter-normalized (Li et al., NeurIPS 2018).

    With ``filter_normalize``, every filter -- the slice ``a[..., j]`` of a leaf with ``ndim >= 2``
    (a Flax Dense unit ``(in, out)``, a convolution output channel ``(*window, in, out)``, a topo
    per-channel MLP unit) -- is rescaled to the norm of the same slice of ``params``; leaves with
    ``ndim <= 1`` (biases, topo's scalar couplings) are rescaled as a whole to their norm, or set
    to zero with ``ignore_1d`` (Li et al.'s default for biases). A filter whose weights are zero
    (e.g. topo's zero output layers at the exact init) gets a zero direction.
    """
    leaves, tree = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(key, len(leaves))
    out = []
    for kk, p in zip(keys, leaves):
        p = jnp.asarray(p)
        d = jax.random.normal(kk, p.shape, p.dtype)
        if filter_normalize:
            if p.ndim >= 2:
                ax = tuple(range(p.ndim - 1))
                pn = jnp.sqrt(jnp.sum(p**2, axis=ax, keepdims=True))
                dn = jnp.sqrt(jnp.sum(d**2, axis=ax, keepdims=True))
                d = d * pn / jnp.where(dn > 0, dn, 1)
            elif ignore_1d:
                d = jnp.zeros_like(p)
            else:
                d = d * jnp.linalg.norm(p) / jnp.maximum(jnp.linalg.norm(d), jnp.finfo(p.dtype).tiny)
        out.append(d)
    return jax.tree_util.tree_unflatten(tree, out)


def _alphas(a, name: str):
    a = jnp.asarray(a)
    if a.ndim != 1 or a.shape[0] < 1:
        raise ValueError(f"Argument `{name}` must have shape (n,) with n >= 1, but has shape {a.shape}.")
    return a


def _axpy(params, alpha, d):
    return jax.tree_util.tree_map(lambda p, q: p + alpha.astype(p.dtype) * q, params, d)


def slice_1d(loss: LossFn, params: Params, direction, alphas, batch_size: int | None = None) -> jax.Array:
    """Losses ``(A,)`` at ``params + alpha * direction`` for each ``alpha`` of ``alphas`` ``(A,)``.

    ``direction``: pytree like ``params`` or flat ``(P,)``. ``batch_size``: alphas evaluated at once
    (``jax.lax.map``; None: one at a time, memory of one loss)."""
    _check_loss(loss)
    d = _like(params, direction, "direction")
    a = _alphas(alphas, "alphas")
    return jax.lax.map(lambda t: loss(_axpy(params, t, d)), a, batch_size=batch_size)


def slice_2d(loss: LossFn, params: Params, d1, d2, alphas, betas, batch_size: int | None = None) -> jax.Array:
    """Losses ``(A, B)`` at ``params + alpha d1 + beta d2`` on the grid ``alphas x betas``."""
    _check_loss(loss)
    d1 = _like(params, d1, "d1")
    d2 = _like(params, d2, "d2")
    a, b = _alphas(alphas, "alphas"), _alphas(betas, "betas")
    ga, gb = jnp.meshgrid(a, b, indexing="ij")
    pts = jnp.stack([ga.ravel(), gb.ravel()], axis=-1)
    out = jax.lax.map(lambda ab: loss(_axpy(_axpy(params, ab[0], d1), ab[1], d2)), pts, batch_size=batch_size)
    return out.reshape(a.shape[0], b.shape[0])


def line_barrier(loss: LossFn, start: Params, end: Params, n: int = 51) -> dict[str, np.ndarray | float]:
    """Losses on the straight line ``start + alpha (end - start)``, ``alpha`` in ``[0, 1]``
    (``n`` points), and the barrier height ``max_alpha L - max(L(0), L(1))`` (0 if the line
    rises monotonically to the higher end; > 0 if something higher than both ends lies between).

    Returns a dict: ``alphas`` ``(n,)``, ``losses`` ``(n,)``, ``barrier``, ``alpha_max`` (where the
    maximum is), ``start_loss``, ``end_loss``.
    """
    n = _pos_int("n", n, 2)
    end = _like(start, end, "end")
    d = jax.tree_util.tree_map(lambda e, s: e - s, end, start)
    x0, _ = _flat(start)
    alphas = jnp.linspace(0.0, 1.0, n, dtype=x0.dtype)
    losses = np.asarray(slice_1d(loss, start, d, alphas))
    i = int(np.argmax(losses))
    return {
        "alphas": np.asarray(alphas),
        "losses": losses,
        "barrier": float(losses[i] - max(losses[0], losses[-1])),
        "alpha_max": float(alphas[i]),
        "start_loss": float(losses[0]),
        "end_loss": float(losses[-1]),
    }


# ----------------------------------------------------------------------------- model-level analysis
def analyze(
    model,
    params: Params,
    data,
    key: jax.Array,
    *,
    k: int = 10,
    num_steps: int | None = None,
    num_probes: int = 8,
    slq_steps: int = 64,
    n_alpha: int = 41,
    n_grid2d: int = 21,
    span: float = 1.0,
    exact_max: int = 1500,
    end: Params | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Curvature and slices of one trained member on one batch.

    Args:
      model: a :class:`tnn.models.Model`; params: one member's parameters.
      data: ``(x, y)``: features (or encoded input) and invariant values of the batch the loss is
        evaluated on (the model's training loss, :func:`tnn.train.make_loss`).
      key: PRNG key (Lanczos start, SLQ and Hutchinson probes, slice directions).
      k: extreme eigenvalues by Lanczos; num_steps: its steps (default as :func:`hessian_eigs`).
      num_probes, slq_steps: SLQ probes and steps (capped at ``P``).
      n_alpha, n_grid2d, span: 1D slice points and 2D grid side over ``[-span, span]``.
      exact_max: models with at most this many parameters also get the full Hessian's exact
        eigenvalues (the summary then uses them, else the SLQ nodes).
      end: parameters to draw the straight line to (e.g. topo's exact solution); None: no line.

    Returns:
      dict of NumPy arrays and floats: ``n_params``, ``loss``, ``eigs_low``, ``eigs_high``,
      ``exact_eigs`` (or absent), ``density_grid``, ``density``, ``trace``, ``summary``,
      ``slice_alphas``, ``slice_1d``, ``slice_2d`` (``(n_grid2d, n_grid2d)``), ``line`` (or absent).
    """
    from tqdm.auto import tqdm

    from tnn.train import encode_labels, make_loss

    x, y = data
    xe = model.prepare(x)
    t = jnp.asarray(encode_labels(model.config, np.asarray(y)))
    base = make_loss(model)

    def loss(p):
        return base(p, xe, t)

    x0, _ = _flat(params)
    P = int(x0.shape[0])
    keys = jax.random.split(key, 6)
    steps = ["eigs", "density", "trace", "slices"] + (["exact"] if P <= exact_max else []) + (["line"] if end is not None else [])
    bar = tqdm(total=len(steps), desc=f"landscape {model.name}", disable=not progress)
    out: dict[str, Any] = {"n_params": P, "loss": float(loss(params))}
    kk = min(k, P)
    lo, hi = jax.jit(lambda p, kq: hessian_eigs(loss, p, kk, kq, num_steps))(params, keys[0])
    out["eigs_low"], out["eigs_high"] = np.asarray(lo), np.asarray(hi)
    bar.update(1)
    m = min(slq_steps, P)
    nodes, weights = jax.jit(lambda p, kq: slq(loss, p, kq, m, num_probes))(params, keys[1])
    nodes, weights = np.asarray(nodes), np.asarray(weights)
    s = 0.01 * max(float(nodes.max() - nodes.min()), 1e-12)
    grid = np.linspace(nodes.min() - 6 * s, nodes.max() + 6 * s, 512)
    rho = np.asarray(_density_on(jnp.asarray(grid), jnp.asarray(nodes), jnp.asarray(weights), s))
    out["density_grid"], out["density"] = grid, rho / np.trapezoid(rho, grid)
    bar.update(1)
    out["trace"] = float(jax.jit(lambda p, kq: hessian_trace(loss, p, kq, 32))(params, keys[2]))
    bar.update(1)
    d1 = random_direction(keys[3], params)
    d2 = random_direction(keys[4], params)
    alphas = jnp.linspace(-span, span, n_alpha, dtype=x0.dtype)
    g2 = jnp.linspace(-span, span, n_grid2d, dtype=x0.dtype)
    out["slice_alphas"] = np.asarray(alphas)
    out["slice_1d"] = np.asarray(jax.jit(lambda p: slice_1d(loss, p, d1, alphas))(params))
    out["slice_2d_grid"] = np.asarray(g2)
    out["slice_2d"] = np.asarray(jax.jit(lambda p: slice_2d(loss, p, d1, d2, g2, g2))(params))
    bar.update(1)
    if P <= exact_max:
        ev = np.linalg.eigvalsh(np.asarray(jax.jit(lambda p: hessian(loss, p))(params)))
        out["exact_eigs"] = ev
        out["summary"] = curvature_summary(ev)
        bar.update(1)
    else:
        out["summary"] = curvature_summary(nodes, weights)
    if end is not None:
        out["line"] = line_barrier(loss, params, end)
        bar.update(1)
    bar.close()
    return out


def write_analysis(result: dict[str, Any], folder: str | Path, name: str = "landscape") -> dict[str, Path]:
    """Write ``<folder>/<name>.json`` (every number of :func:`analyze`) and ``<folder>/<name>.png``
    (Lanczos extremes and exact spectrum, SLQ density, 1D slice and line, 2D slice). Atomic writes
    (:mod:`tnn.results`). Returns the paths."""
    from tnn import results as tres
    from tnn._plots import pyplot, save_figure

    plt = pyplot()

    folder = Path(folder)
    jpath = tres.write_json(folder / f"{name}.json", tres.to_jsonable(result))
    fig, ax = plt.subplots(1, 4, figsize=(16, 3.6))
    if "exact_eigs" in result:
        ev = result["exact_eigs"]
        ax[0].plot(np.arange(len(ev)), ev, ".", ms=3, label="exact (eigh)")
    kl = len(result["eigs_low"])
    ax[0].plot(np.arange(kl), result["eigs_low"], "x", label="Lanczos lowest")
    P = result["n_params"]
    ax[0].plot(np.arange(P - kl, P), result["eigs_high"], "x", label="Lanczos highest")
    ax[0].set_yscale("symlog", linthresh=1e-4)
    ax[0].set_xlabel("index")
    ax[0].set_ylabel("Hessian eigenvalue")
    ax[0].legend(fontsize=7)
    ax[1].semilogy(result["density_grid"], np.maximum(result["density"], 1e-12))
    ax[1].set_xlabel("eigenvalue")
    ax[1].set_ylabel("SLQ density")
    ax[2].plot(result["slice_alphas"], result["slice_1d"], label="filter-normalized")
    if "line" in result:
        ax[2].plot(result["line"]["alphas"], result["line"]["losses"], label=f"line to end (barrier {result['line']['barrier']:.3g})")
    ax[2].set_xlabel("alpha")
    ax[2].set_ylabel("loss")
    ax[2].legend(fontsize=7)
    g = result["slice_2d_grid"]
    cs = ax[3].contourf(g, g, np.log10(np.maximum(result["slice_2d"].T, 1e-12)), levels=20)
    fig.colorbar(cs, ax=ax[3], label="log10 loss")
    ax[3].set_xlabel("alpha (d1)")
    ax[3].set_ylabel("beta (d2)")
    s = result["summary"]
    fig.suptitle(f"top {s['top']:.3g}, condition {s['condition']:.3g}, negative fraction {s['negative_fraction']:.3g}")
    fig.tight_layout()
    ipath = save_figure(fig, folder / f"{name}.png")
    return {"json": jpath, "figure": ipath}
