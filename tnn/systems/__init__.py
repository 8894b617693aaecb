"""Physical systems as plug-ins: one module per system, and the registry everything else asks.

Each module (``ssh``, ``qwz``, ``haldane``, ``kitaev``) holds everything specific to its system --
real-space builder, Bloch Hamiltonian and k-space invariant, which real-space invariant labels it,
dataset presets and parameter sampler, the ``tnn demo`` panel, the ``tnn sweep`` phase diagrams
with their known boundaries -- and describes it with a :class:`tnn.systems.base.System` named
``SYSTEM``. Adding a system is one new module and one line in :data:`SYSTEMS` below;
``tnn.hamiltonians``, ``tnn.kspace``, ``tnn.data``, ``tnn.demo`` and ``tnn.sweeps.presets`` pick it
up from here.
"""

from __future__ import annotations

import sys
from typing import Callable

from tnn.systems import bhz, haldane, kitaev, qwz, ssh
from tnn.systems.base import INVALID_CLASS, DemoPanel, SweepAxis, SweepPreset, System, nearest_class

__all__ = ["SYSTEMS", "System", "DemoPanel", "SweepAxis", "SweepPreset", "get", "builders", "presets",
           "sweep_presets", "lookup", "public_names", "INVALID_CLASS", "nearest_class"]

#: name -> System, in the order of the demo's panels
SYSTEMS: dict[str, System] = {
    "ssh": ssh.SYSTEM,
    "qwz": qwz.SYSTEM,
    "haldane": haldane.SYSTEM,
    "kitaev": kitaev.SYSTEM,
    "bhz": bhz.SYSTEM,
}


def get(name: str) -> System:
    """The registered system ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return SYSTEMS[name]
    except (KeyError, TypeError):
        raise ValueError(f"Argument `model` must be one of {sorted(SYSTEMS)}, got {name!r}.") from None


def builders() -> dict[str, Callable]:
    """Every system's public builders by name (``ssh``, ``qwz_terms``, ``kitaev_chain``, ...)."""
    return {name: fn for s in SYSTEMS.values() for name, fn in s.builders.items()}


def _modules() -> list:
    return [sys.modules[s.builders[next(iter(s.builders))].__module__] for s in SYSTEMS.values()]


def public_names() -> list[str]:
    """The public names of every system module (their ``__all__`` without ``SYSTEM``), in registry order."""
    return [n for m in _modules() for n in getattr(m, "__all__", ()) if n != "SYSTEM"]


def lookup(name: str):
    """The public object ``name`` of a system module (its ``__all__``), or None. ``tnn.hamiltonians``
    and ``tnn.kspace`` use it to keep ``tnn.hamiltonians.ssh``, ``tnn.kspace.qwz_bloch``, ... working."""
    for module in _modules():
        if name in getattr(module, "__all__", ()) and name != "SYSTEM":
            return getattr(module, name)
    return None


def presets() -> dict[str, Callable[[], dict]]:
    """Every system's dataset presets, ``name -> () -> dict of DatasetSpec fields``."""
    return {name: make for s in SYSTEMS.values() for name, make in s.presets.items()}


def sweep_presets() -> dict[str, SweepPreset]:
    """Every system's ``tnn sweep`` presets by name, in the registry's order."""
    out: dict[str, SweepPreset] = {}
    for s in SYSTEMS.values():
        for p in s.sweep_presets:
            if p.name in out:
                raise ValueError(f"Sweep preset {p.name!r} of system {s.name!r} is already defined by another system.")
            out[p.name] = p
    return out
