r"""Trainability of the models, topo first: how often, how fast and from where training finds the invariant.

A package with one job per module:

* :mod:`~tnn.study.trainability.sensitivity` -- :func:`init_sensitivity`: success rate of
  :func:`tnn.train.fit` ensembles against init noise around topo's exact solution.
* :mod:`~tnn.study.trainability.gradvar` -- :func:`gradient_variance`: the variance of the loss gradient
  at initialization against the chain length (barren plateaus).
* :mod:`~tnn.study.trainability.ensemble` -- :func:`train_ensemble`: one ``jit(vmap(scan))`` ensemble
  (Adam, SGD with momentum, full-batch L-BFGS), parameters kept at requested step counts along one
  trajectory; :func:`fit_regression`, the regression head's trainer (real output, rounded).
* :mod:`~tnn.study.trainability.phase` -- :func:`phase_diagram` (topo's success rate against learning rate
  x steps x optimizer x initial tau x loss) and :func:`block_noise` (exact tensors with noise on one
  parameter block at a time).
* :mod:`~tnn.study.trainability.targets` -- :func:`invariant_targets`, :func:`load_invariant_split`: the
  samples relabelled by their rounded real-space invariant (what the exact tensors compute).
* :mod:`~tnn.study.trainability.report` -- :func:`write_phase_diagram`, :func:`phase_table`,
  :func:`block_table`, :func:`to_xarray`: JSON, a text table, an ``xarray.Dataset`` and the figure.
"""

from tnn.study.trainability.ensemble import (
    MINIBATCH_OPTIMIZERS,
    OPTIMIZERS,
    fit_regression,
    make_optimizer,
    score_ensemble,
    train_ensemble,
)
from tnn.study.trainability.gradvar import gradient_variance, write_gradient_variance
from tnn.study.trainability.phase import DEFAULT_BLOCK_SIGMAS, LOSSES, block_noise, param_blocks, phase_diagram
from tnn.study.trainability.report import block_table, phase_table, to_xarray, write_block_noise, write_phase_diagram
from tnn.study.trainability.sensitivity import DEFAULT_SIGMAS, init_conditions, init_sensitivity, write_sensitivity
from tnn.study.trainability.targets import invariant_targets, load_invariant_split

__all__ = [
    "DEFAULT_SIGMAS",
    "init_conditions",
    "init_sensitivity",
    "write_sensitivity",
    "gradient_variance",
    "write_gradient_variance",
    "OPTIMIZERS",
    "MINIBATCH_OPTIMIZERS",
    "make_optimizer",
    "train_ensemble",
    "score_ensemble",
    "fit_regression",
    "LOSSES",
    "DEFAULT_BLOCK_SIGMAS",
    "param_blocks",
    "phase_diagram",
    "block_noise",
    "phase_table",
    "block_table",
    "to_xarray",
    "write_phase_diagram",
    "write_block_noise",
    "invariant_targets",
    "load_invariant_split",
]
