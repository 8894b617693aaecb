"""Precision is an explicit call: importing :mod:`tnn` changes no JAX setting.

Invariants, landscapes and k-space references are meant to run in float64; call
:func:`enable_x64` once at the start of a script or notebook (before creating arrays).
"""

from __future__ import annotations

import jax

__all__ = ["enable_x64", "x64_enabled"]


def enable_x64(enable: bool = True) -> None:
    """Switch JAX to 64-bit floats and ints (``jax_enable_x64``). Call before building arrays."""
    jax.config.update("jax_enable_x64", bool(enable))


def x64_enabled() -> bool:
    """Whether ``jax_enable_x64`` is on."""
    return bool(jax.config.read("jax_enable_x64"))
