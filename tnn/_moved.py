"""Old names of things that moved up a layer, kept for one version with a ``DeprecationWarning``.

Two shapes of shim (issue 21: the instruments that train and draw live with the study):

* a whole package moved (``tnn.probes`` -> ``tnn.study.probes``): the old name is a module that
  calls :func:`alias_package`, which re-exports the new package's public names and registers its
  submodules under the old dotted names, so ``import tnn.probes.sets`` gives ``tnn.study.probes.sets``;
* a few names of a module moved (``tnn.landscape.minima_analysis`` -> ``tnn.study.minima``): the
  module sets ``__getattr__ = moved_names(__name__, {...})``. The new module is found by
  ``importlib`` when the old name is asked for, never imported by the module itself, so importing
  ``tnn.landscape`` still loads nothing above its layer.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from types import ModuleType
from typing import Callable

__all__ = ["alias_package", "moved_names"]


def _warn(old: str, new: str, stacklevel: int) -> None:
    warnings.warn(f"{old} moved to {new}; import it from there (the old name goes in the next version)",
                  DeprecationWarning, stacklevel=stacklevel)


def alias_package(old: str, new: ModuleType, submodules: tuple[str, ...]) -> None:
    """Make the module ``old`` (being imported) a deprecated alias of the package ``new``.

    Copies ``new``'s public names (``__all__``) and its attributes ``submodules`` into ``old`` (an
    attribute is what the new package holds: a function that shares its submodule's name wins, as
    there), registers the submodule ``f"{new.__name__}.{s}"`` in ``sys.modules`` as ``f"{old}.{s}"``
    for every ``s`` of ``submodules``, and warns (``DeprecationWarning``) at the import of ``old``."""
    mod = sys.modules[old]
    for name in (*new.__all__, *submodules):
        setattr(mod, name, getattr(new, name))
    mod.__all__ = list(new.__all__)
    for s in submodules:
        sys.modules[f"{old}.{s}"] = importlib.import_module(f"{new.__name__}.{s}")
    _warn(old, new.__name__, stacklevel=4)


def moved_names(module: str, moved: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for names that moved: ``moved[name]`` is the module that holds
    ``name`` now; asking ``module`` for it warns (``DeprecationWarning``) and gives the same object."""

    def __getattr__(name: str):
        if name in moved:
            _warn(f"{module}.{name}", f"{moved[name]}.{name}", stacklevel=3)
            return getattr(importlib.import_module(moved[name]), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
