"""Precision is one explicit call: importing :mod:`tnn` changes no JAX setting.

Invariants, landscapes and k-space references are meant to run in float64; call
:func:`enable_x64` once at the start of a script or notebook (before creating arrays). It is the
only switch the library uses: the commands (``tnn study``, ``tnn data``, ``tnn train``, ``tnn sweep``,
``tnn demo``) call it when they start, and the code that cannot give its numbers in float32 (dataset
labels and features, the probes' correlation lengths) asks for it with :func:`require_x64` instead of
switching precision behind the caller's back (no ``jax.enable_x64`` context anywhere: a context is
thread-local, and the host callbacks of the labels then ran in float32).
"""

from __future__ import annotations

import jax

__all__ = ["enable_x64", "x64_enabled", "require_x64"]


def enable_x64(enable: bool = True) -> None:
    """Switch JAX to 64-bit floats and ints (``jax_enable_x64``). Call before building arrays."""
    jax.config.update("jax_enable_x64", bool(enable))


def x64_enabled() -> bool:
    """Whether ``jax_enable_x64`` is on."""
    return bool(jax.config.read("jax_enable_x64"))


def require_x64(what: str) -> None:
    """Raise ``RuntimeError`` naming ``what`` and the fix unless float64 is on (:func:`enable_x64`)."""
    if not x64_enabled():
        raise RuntimeError(f"{what} needs float64: call tnn.enable_x64() first, before creating arrays "
                           "(docs/conventions.md, units).")
