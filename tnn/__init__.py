"""tnn: differentiable real-space topology and the learnability of topological invariants.

Importing ``tnn`` changes no JAX setting; call :func:`tnn.enable_x64` for float64.

The physics modules (``lattice``, ``hamiltonians``, ``kspace``, ``contractions``, ``invariants``,
``validity``) are imported with the package; ``data``, ``models``, ``train``, ``results``, the trainability
instruments (Flax, optax, matfree), ``sweeps`` (xarray), ``localizer`` and ``kpm`` (linear-scaling invariants
on matrix-free Hamiltonians, :mod:`tnn.operators`) and ``study`` (with the instruments that train and
draw: ``tnn.study.probes``, ``tnn.study.trainability``) on first access, e.g. ``tnn.models.make_model``.
"""

import importlib

from tnn import contractions, hamiltonians, invariants, kspace, lattice, validity
from tnn.precision import enable_x64, x64_enabled

__version__ = "0.1.0"

_LAZY = ("data", "models", "train", "results", "landscape", "prune", "sweeps", "localizer", "kpm", "study")
#: deprecated names (moved to tnn.study.probes, tnn.study.trainability): still reachable, not listed
_OLD = ("probes", "trainability")

__all__ = [
    "enable_x64", "x64_enabled", "lattice", "hamiltonians", "kspace", "contractions", "invariants",
    "validity",
    *_LAZY, "__version__",
]


def __getattr__(name: str):
    if name in _LAZY or name in _OLD:
        module = importlib.import_module(f"tnn.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'tnn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
