r"""The one model interface: ``init(key, x) -> params`` and ``apply(params, x) -> outputs``.

Every model of :mod:`tnn.models` -- the topo networks, which are plain JAX functions of an explicit
parameter dict, and the Flax baselines -- is a :class:`Model` holding three pure functions:

* ``init(key, x) -> params``: ``params`` is a plain pytree (nested ``dict`` of arrays, nothing
  else: no ``FrozenDict``, no collections, no mutable state). ``jax.grad``, ``jax.hessian`` and
  ``jax.flatten_util.ravel_pytree`` therefore treat every model the same, and
  :func:`tnn.results.save_params` stores it.
* ``apply(params, x) -> outputs``: **batched**. Every leaf of ``x`` carries a leading batch axis
  ``B``; outputs have shape ``(B, n_out)``: logits over ``config.classes`` for
  ``task="classify"`` (``n_out = len(classes)``), the regressed invariant for ``task="regress"``
  (``n_out = 1``). The networks are written for one sample where that is the natural form (topo)
  and mapped with ``vmap`` inside ``apply``; Flax layers take the batch axis natively. Keeping the
  batch axis in the interface lets ``train``/``landscape`` evaluate a loss on a batch without
  knowing which kind of model they hold.
* ``prepare(features) -> x``: the static, parameter-free encoding of dataset features (a dict such
  as ``{"hamiltonian": H}`` or ``{"energies": E, "eigenvectors": V}``, batched) into the model
  input (:mod:`tnn.models.inputs`). An ``x`` that is already encoded passes through unchanged.

Flax flavour: **Linen**. A Linen module is a stateless description whose ``init``/``apply`` are
already pure functions that return and consume plain dict pytrees, so the adapter
(:func:`from_linen`) is two lines and adds nothing inside ``jit``. NNX keeps parameters inside
mutable Python objects; reaching a pure ``(params, apply)`` pair needs ``nnx.split``/``nnx.merge``
on every call (a graph traversal at trace time) and a ``GraphDef`` to carry next to the params,
which is exactly what our ``landscape`` and ``prune`` code must not have to know about. No model
here uses BatchNorm (the ResNet uses LayerNorm) so there is no ``batch_stats`` collection either;
:func:`from_linen` refuses modules that create one.

The lattice is **static**: models that need geometry (topo, the input encodings) take it at
construction, :func:`tnn.models.make_model`. Parameters never depend on the lattice size where the
architecture allows it (everything but the MLP), so params trained with ``make_model(cfg, lat16)``
run unchanged under ``make_model(cfg, lat64).apply``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Protocol

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks
from tnn.data import features as _features
from tnn.lattice import Lattice

__all__ = [
    "ModelConfig",
    "compute_dtype",
    "Model",
    "InitFn",
    "ApplyFn",
    "from_linen",
    "MODEL_NAMES",
    "TASKS",
    "INPUTS",
    "SITE_INPUTS",
    "MATRIX_INPUTS",
    "CELL_INPUTS",
    "ENCODINGS",
    "INITS",
    "class_logits",
    "n_outputs",
    "count_params",
]

Params = Any  # nested dict of arrays
MODEL_NAMES = ("mlp", "cnn", "resnet", "symmetric", "topo")
TASKS = ("classify", "regress")
# The inputs are the dataset features (tnn.data.features), grouped by their shape kind.
#: inputs that are site arrays ``(N, k)`` (read with the ``cells`` or ``flat`` encoding)
SITE_INPUTS = _features.names(kind="sites")
#: inputs that are matrices ``(N, N)`` (a chain's ``projector`` is its ``(L, L)`` chiral block, embedded)
MATRIX_INPUTS = _features.names(kind="matrix")
#: inputs that are per-cell tables ``(C, L)`` (SSH ``hoppings``; read with the ``cells`` or ``flat`` encoding)
CELL_INPUTS = _features.names(kind="cells")
#: every input: the baselines' (matrices, site arrays, cell tables), then topo's eigenvectors
INPUTS = ("auto",) + MATRIX_INPUTS + SITE_INPUTS + CELL_INPUTS + _features.names(kind="eigenvectors")
ENCODINGS = ("auto", "cells", "chiral", "flat")
INITS = ("default", "exact", "random", "exact_noise")
PADDINGS = ("auto", "circular", "zero")
NORMS = ("layer", "none")
SPECTRALS = ("sign", "tanh")
DTYPES = ("auto", "float32", "float64")


class InitFn(Protocol):
    def __call__(self, key: jax.Array, x: Any) -> Params: ...


class ApplyFn(Protocol):
    def __call__(self, params: Params, x: Any) -> jax.Array: ...


def _field_error(field: str, msg: str, value) -> ValueError:
    return ValueError(f"ModelConfig field `{field}` {msg}, got {value!r}.")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Everything that defines a model (saved as part of ``config.json``).

    Fields (all validated by :meth:`validate`, which raises ``ValueError`` naming the field):
      name: ``"mlp" | "cnn" | "resnet" | "symmetric" | "topo"``.
      task: ``"classify"`` (logits over ``classes``) or ``"regress"`` (one real output).
      classes: the invariant values the labels take, e.g. ``(0, 1)``; for ``regress`` they define
        the rounding used by the accuracy metric.
      input: dataset feature the model reads (:mod:`tnn.data`): ``"hamiltonian"``, ``"projector"``
        (``sign(H)``), ``"density"`` (``|psi_n(i)|^2``, energy order), ``"edge_modes"`` (``|psi_n(i)|^2``
        of the 4 states nearest zero energy), ``"hoppings"`` (SSH) for the baselines (the symmetric
        net: all but ``hoppings``); ``"wavefunctions"`` for topo. ``"auto"``: topo ->
        ``"wavefunctions"``, others -> ``"hamiltonian"``.
      encoding: how a matrix/site feature becomes the network input (:mod:`tnn.models.inputs`);
        ``"auto"``: mlp -> ``flat``, cnn/resnet -> ``cells``, symmetric -> ``chiral`` for a matrix
        input on a chain, ``cells`` otherwise (site arrays, 2D). Site arrays take ``cells`` or ``flat``.
      radius: neighbourhood (cells) of the ``cells``/``chiral`` encodings.
      width, depth: hidden units/channels and number of hidden layers/blocks (baselines).
      kernel_size: convolution window (cells).
      padding: ``"circular"``, ``"zero"`` or ``"auto"`` (circular when the lattice is periodic).
      norm: ResNet normalization, ``"layer"`` (LayerNorm over channels) or ``"none"``.
      channels: K, the number of tensor-network channels of topo.
      head_width: hidden units of topo's neural head (0: linear head).
      fn_width: hidden units of topo's small function MLPs (kernel, spectral weight, coordinates).
      init: ``"default"`` (Flax initializers; for topo the same as ``"random"``), ``"exact"``
        (topo only: reproduces the invariant), ``"random"`` (topo: every parameter drawn from
        N(0, init_scale^2)), ``"exact_noise"`` (topo: exact plus N(0, noise^2) on every parameter).
      init_scale: the scale of ``"random"`` (topo).
      noise: sigma of ``"exact_noise"``.
      trim: fraction of cells cut from each open edge before the bulk trace / window (topo).
      tau: sharpness of topo's class logits ``-tau (f - v_c)^2`` at the exact initialization.
      spectral: topo 1D spectral-weight branch: ``"sign"`` (exact ``sign(E)``) or ``"tanh"``
        (``tanh(beta E)``, exact only up to ``exp(-2 beta |E|)``).
      beta: slope of the ``"tanh"`` branch at initialization.
      dtype: parameter dtype, ``"auto"`` (float64 under ``tnn.enable_x64()``, else float32),
        ``"float32"`` or ``"float64"``.
    """

    name: str
    task: str = "classify"
    classes: tuple = (0, 1)
    input: str = "auto"
    encoding: str = "auto"
    radius: int = 2
    width: int = 32
    depth: int = 2
    kernel_size: int = 3
    padding: str = "auto"
    norm: str = "layer"
    channels: int = 2
    head_width: int = 8
    fn_width: int = 8
    init: str = "default"
    init_scale: float = 1.0
    noise: float = 0.0
    trim: float = 0.25
    tau: float = 10.0
    spectral: str = "sign"
    beta: float = 50.0
    dtype: str = "auto"

    def validate(self) -> "ModelConfig":
        """Check every field; return the config with ``auto`` fields still symbolic."""
        classes = _checks.integers(min_length=2 if self.task == "classify" else 1, distinct=True)
        rules = {"name": _checks.choice(MODEL_NAMES), "task": _checks.choice(TASKS), "classes": classes, **_RULES}
        checked = _checks.check_fields(self, rules, _field_error)
        if self.name == "topo":
            if self.input not in ("auto", "wavefunctions"):
                raise _field_error("input", "must be 'wavefunctions' (or 'auto') for topo", self.input)
        else:
            if self.input == "wavefunctions":
                raise _field_error("input", f"cannot be 'wavefunctions' for {self.name}", self.input)
            if self.name == "symmetric" and self.input in CELL_INPUTS:
                raise _field_error("input", f"cannot be {self.input!r} for the symmetric net (its group acts on "
                                   "matrices and site arrays)", self.input)
            if self.init not in ("default",):
                raise _field_error("init", f"must be 'default' for {self.name} (exact/random inits are topo's)", self.init)
        if self.init == "exact_noise" and self.noise == 0:
            raise _field_error("noise", "must be > 0 with init='exact_noise'", self.noise)
        return dataclasses.replace(self, classes=checked["classes"])

    @property
    def n_out(self) -> int:
        return n_outputs(self)

    def resolved_dtype(self):
        """Parameter dtype: ``"auto"`` is float64 when ``jax_enable_x64`` is on, else float32."""
        if self.dtype == "auto":
            return jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32
        if self.dtype == "float64" and not jax.config.read("jax_enable_x64"):
            raise _field_error("dtype", "float64 needs tnn.enable_x64() first", self.dtype)
        return jnp.dtype(self.dtype).type

    def resolved_input(self) -> str:
        if self.input != "auto":
            return self.input
        return "wavefunctions" if self.name == "topo" else "hamiltonian"

    def resolved_encoding(self, lat: Lattice | None) -> str:
        if self.encoding != "auto":
            return self.encoding
        if self.name == "mlp":
            return "flat"
        if (self.name == "symmetric" and lat is not None and lat.kind == "chain"
                and self.resolved_input() in MATRIX_INPUTS):
            return "chiral"
        return "cells"

    def resolved_padding(self, lat: Lattice | None) -> str:
        if self.padding != "auto":
            return self.padding
        return "circular" if (lat is not None and lat.pbc) else "zero"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ModelConfig":
        """Rebuild a config from its JSON form (lists back to tuples); unknown keys raise."""
        return _checks.config_from_dict(cls, d)


#: the checks of ModelConfig.validate after name, task and classes, field by field (then the checks
#: between fields)
_RULES = {
    "input": _checks.choice(INPUTS),
    "encoding": _checks.choice(ENCODINGS),
    ("radius", "depth", "head_width"): _checks.integer(0),
    ("width", "kernel_size", "channels", "fn_width"): _checks.integer(1),
    "padding": _checks.choice(PADDINGS),
    "norm": _checks.choice(NORMS),
    "init": _checks.choice(INITS),
    ("init_scale", "tau", "beta"): _checks.real(0, lo_open=True),
    "noise": _checks.real(0),
    "trim": _checks.real(0, 0.5, hi_open=True),
    "spectral": _checks.choice(SPECTRALS),
    "dtype": _checks.choice(DTYPES),
}


def n_outputs(config: ModelConfig) -> int:
    return len(config.classes) if config.task == "classify" else 1


@dataclasses.dataclass(frozen=True, eq=False)
class Model:
    """A model as pure functions (see the module docstring). Hashable by identity.

    Attributes:
      config: the validated :class:`ModelConfig`.
      lattice: the static lattice the encodings/contractions use (``None`` only for models built
        without one, which then need already-encoded input).
      init: ``(key, x) -> params``; ``x`` batched (one sample suffices).
      apply: ``(params, x) -> (B, n_out)``.
      prepare: ``features -> x`` (static encoding; identity for already-encoded input).
    """

    config: ModelConfig
    lattice: Lattice | None
    init: InitFn
    apply: ApplyFn
    prepare: Callable[[Any], Any]

    @property
    def name(self) -> str:
        return self.config.name


def from_linen(module, config: ModelConfig, lattice: Lattice | None, prepare: Callable[[Any], Any]) -> Model:
    """Wrap a Flax Linen module (batched input) into a :class:`Model`.

    ``init`` returns the module's ``"params"`` collection as a plain dict; a module that creates any
    other collection (e.g. BatchNorm's ``batch_stats``) is refused because it would not be pure.
    """

    # One compiled computation instead of one eager dispatch (and compilation) per layer.
    init_variables = jax.jit(module.init)

    def init(key, x):
        variables = init_variables(key, x)
        extra = sorted(set(variables) - {"params"})
        if extra:
            raise ValueError(
                f"Argument `module` creates the variable collections {extra}; only 'params' is allowed "
                "in the pure interface (use LayerNorm, not BatchNorm)."
            )
        return dict(variables["params"])

    def apply(params, x):
        return module.apply({"params": params}, x)

    # jit here so that eager calls (notebooks, tests) are fast; under an outer jit it is inlined.
    return Model(config=config, lattice=lattice, init=init, apply=jax.jit(apply), prepare=prepare)


def class_logits(f, classes, log_tau):
    """Logits ``-tau (f - v_c)^2`` over the class values ``v_c``; ``f`` ``(...,)`` -> ``(..., C)``.

    ``argmax`` is the class value nearest to ``f``, whatever ``tau > 0``: a regressed invariant
    becomes a classifier without a learned threshold.
    """
    v = jnp.asarray(np.asarray(classes, dtype=np.float64), dtype=f.dtype)
    return -jnp.exp(log_tau) * (f[..., None] - v) ** 2


def count_params(params) -> int:
    """Number of scalar parameters (a complex one counts once)."""
    return int(sum(np.size(p) for p in jax.tree_util.tree_leaves(params)))


def compute_dtype(x, param_dtype) -> np.dtype:
    """The dtype a flax layer computes in for input ``x`` and parameters of ``param_dtype``: NumPy's
    promotion of the two (what flax's default ``dtype=None`` promotes to in JAX's standard mode),
    passed explicitly so that the layers also run under ``jax_numpy_dtype_promotion="strict"``."""
    return np.result_type(x.dtype, param_dtype)
