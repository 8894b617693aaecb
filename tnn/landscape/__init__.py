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
parameters are float64, and run unchanged on CPU or GPU. :func:`analyze_loss` runs them all on one
loss around one point. The package imports no model, no trainer and no plotting library: what
trains a network or draws a figure lives in the study (issue 21).

Modules: :mod:`~tnn.landscape.curvature` (Hessian, HVP, Lanczos, SLQ, Hutchinson, summary),
:mod:`~tnn.landscape.slices` (directions, slices, line barrier), :mod:`~tnn.landscape.analysis`
(:func:`analyze_loss`), :mod:`~tnn.landscape.pytrees` (the shared checks and flat-vector view). Every
name below is importable from ``tnn.landscape``.

The landscape of topo's 1D network modulo its symmetries (issue 19, item 5):
:mod:`~tnn.landscape.chain` (its parameter blocks :data:`BLOCKS`, :func:`block_masks`),
:mod:`~tnn.landscape.symmetry` (the exact symmetry group, :func:`canonicalize`,
:func:`nearest_exact`, :func:`exact_distance`), :mod:`~tnn.landscape.neb` (:func:`neb`: nudged
elastic band with a climbing image), :mod:`~tnn.landscape.endpoints` (:func:`cluster_endpoints`) and
:mod:`~tnn.landscape.minima` (:func:`block_hessian`, :func:`block_spectra`).

Moved to the study (issue 21), the old names here kept for one version with a
``DeprecationWarning``: ``analyze``, ``write_analysis`` (:mod:`tnn.study.landscape_runs`);
``invariant_values``, ``make_chain_loss`` (:mod:`tnn.study.topo_chain`); ``train_endpoints``,
``minima_analysis``, ``plot_neb``, ``write_minima`` (:mod:`tnn.study.minima`).
"""

from tnn._moved import moved_names
from tnn.landscape.analysis import analyze_loss
from tnn.landscape.curvature import (
    BREAKDOWN_RTOL,
    curvature_summary,
    hessian,
    hessian_eigs,
    hessian_trace,
    hvp,
    slq,
    spectral_density,
)
from tnn.landscape.chain import BLOCKS, block_masks
from tnn.landscape.endpoints import cluster_endpoints
from tnn.landscape.minima import block_hessian, block_spectra
from tnn.landscape.neb import neb
from tnn.landscape.pytrees import LossFn, Params
from tnn.landscape.slices import line_barrier, random_direction, slice_1d, slice_2d
from tnn.landscape.symmetry import canonicalize, exact_distance, nearest_exact, random_symmetry

__all__ = [
    "LossFn",
    "Params",
    "BREAKDOWN_RTOL",
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
    "analyze_loss",
    "BLOCKS",
    "block_masks",
    "canonicalize",
    "random_symmetry",
    "nearest_exact",
    "exact_distance",
    "neb",
    "cluster_endpoints",
    "block_hessian",
    "block_spectra",
]

__getattr__ = moved_names(__name__, {
    **dict.fromkeys(("analyze", "write_analysis"), "tnn.study.landscape_runs"),
    **dict.fromkeys(("invariant_values", "make_chain_loss"), "tnn.study.topo_chain"),
    **dict.fromkeys(("train_endpoints", "minima_analysis", "plot_neb", "write_minima"), "tnn.study.minima"),
})
