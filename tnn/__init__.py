"""tnn: differentiable real-space topology and the learnability of topological invariants.

Importing ``tnn`` changes no JAX setting; call :func:`tnn.enable_x64` for float64.
"""

from tnn import contractions, hamiltonians, invariants, kspace, lattice
from tnn.precision import enable_x64, x64_enabled

__version__ = "0.1.0"

__all__ = [
    "enable_x64", "x64_enabled", "lattice", "hamiltonians", "kspace", "contractions", "invariants", "__version__",
]
