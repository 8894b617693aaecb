r"""Curvature and slices of a loss around one point, in one call (:func:`analyze_loss`); the pieces are
:mod:`tnn.landscape.curvature` and :mod:`tnn.landscape.slices`.

Running it on a trained model and a batch (:func:`~tnn.study.landscape_runs.analyze`) and writing the
JSON and figure (:func:`~tnn.study.landscape_runs.write_analysis`) moved to
:mod:`tnn.study.landscape_runs` (issue 21: they build the loss from the model and write files); the old
names here still work for one version, with a ``DeprecationWarning``."""

from __future__ import annotations

from typing import Any

import numpy as np
import jax
import jax.numpy as jnp

from tnn._moved import moved_names
from tnn.landscape.curvature import curvature_summary, gaussian_density, hessian, hessian_eigs, hessian_trace, slq
from tnn.landscape.pytrees import LossFn, Params, flat_params
from tnn.landscape.slices import line_barrier, random_direction, slice_1d, slice_2d

__all__ = ["analyze_loss"]

__getattr__ = moved_names(__name__, dict.fromkeys(("analyze", "write_analysis"), "tnn.study.landscape_runs"))


def analyze_loss(
    loss: LossFn,
    params: Params,
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
    desc: str = "landscape",
) -> dict[str, Any]:
    """Curvature and slices of ``loss`` around ``params``.

    Args:
      loss: ``loss(params) -> ()`` (e.g. one trained member's training loss on one batch);
        params: the point (any pytree of real arrays).
      key: PRNG key (Lanczos start, SLQ and Hutchinson probes, slice directions).
      k: extreme eigenvalues by Lanczos; num_steps: its steps (default as :func:`hessian_eigs`).
      num_probes, slq_steps: SLQ probes and steps (capped at ``P``).
      n_alpha, n_grid2d, span: 1D slice points and 2D grid side over ``[-span, span]``.
      exact_max: models with at most this many parameters also get the full Hessian's exact
        eigenvalues (the summary then uses them, else the SLQ nodes).
      end: parameters to draw the straight line to (e.g. topo's exact solution); None: no line.
      progress, desc: a progress bar (``tqdm``) and its label.

    Returns:
      dict of NumPy arrays and floats: ``n_params``, ``loss``, ``eigs_low``, ``eigs_high``,
      ``exact_eigs`` (or absent), ``density_grid``, ``density``, ``trace``, ``summary``,
      ``slice_alphas``, ``slice_1d``, ``slice_2d`` (``(n_grid2d, n_grid2d)``), ``line`` (or absent).
    """
    from tqdm.auto import tqdm

    x0, _ = flat_params(params)
    P = int(x0.shape[0])
    keys = jax.random.split(key, 6)
    steps = ["eigs", "density", "trace", "slices"] + (["exact"] if P <= exact_max else []) + (["line"] if end is not None else [])
    bar = tqdm(total=len(steps), desc=desc, disable=not progress)
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
    rho = np.asarray(gaussian_density(jnp.asarray(grid), jnp.asarray(nodes), jnp.asarray(weights), s))
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
