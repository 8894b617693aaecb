"""Input checks for the public edge. Every failure is a ``ValueError`` naming the argument.

Checks run in Python before any tracing. Values that are JAX tracers (the function is being called
inside ``jit``/``vmap``/``grad``) can only be checked for shape and dtype; their values are checked
when the caller passes concrete arrays.
"""

from __future__ import annotations

import sys

import numpy as np
import jax
import jax.numpy as jnp

from tnn.lattice import Lattice


def is_int(v) -> bool:
    """A Python or NumPy integer, not a bool."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def seed_tuple(value, error) -> tuple[int, ...]:
    """``value`` as a non-empty tuple of distinct non-negative ints; otherwise raises
    ``error("seeds", message, value)`` (the caller's config error, naming its field)."""
    msg = "must be a non-empty tuple of distinct non-negative ints"
    try:
        seeds = tuple(value)
    except TypeError:
        raise error("seeds", msg, value) from None
    if not seeds or not all(is_int(s) and s >= 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise error("seeds", msg, value)
    return seeds


def is_concrete(x) -> bool:
    """True if ``x`` holds a value we can inspect now (not a tracer).

    Ask this of the *caller's* value: inside ``jit`` even ``jnp.asarray(0.0)`` is a tracer, so a
    converted array says nothing about whether the user passed a constant.
    """
    return not isinstance(x, jax.core.Tracer)


def densify(x):
    """A ``scipy.sparse`` matrix or array as a dense NumPy array; anything else unchanged.

    SciPy is not a dependency of tnn: a sparse matrix can only exist once ``scipy.sparse`` has been
    imported, so it is looked up in ``sys.modules`` (never imported here)."""
    sp = sys.modules.get("scipy.sparse")
    if sp is not None and sp.issparse(x):
        return x.toarray()
    return x


def concrete_value(x) -> np.ndarray | None:
    """``x`` as a NumPy array when its value is known now (Python/NumPy data, concrete jax arrays),
    else ``None`` (tracers, or objects NumPy cannot read)."""
    if not is_concrete(x):
        return None
    try:
        return np.asarray(x)
    except (TypeError, ValueError):
        return None


def as_param(name: str, x, shape: tuple[int, ...] | None = (), allow_complex: bool = False):
    """Convert ``x`` to an array, checking its shape, dtype kind and (if concrete) finiteness.

    Integer and boolean input becomes the default float dtype. Raises ``ValueError`` naming
    ``name``. The value checks use the caller's ``x``, so constants passed inside ``jit`` are
    checked as well.
    """
    if x is None:
        raise ValueError(f"Argument `{name}` must be given, got None.")
    try:
        arr = x if isinstance(x, jax.Array) else jnp.asarray(x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"Argument `{name}` must be numeric, got {type(x).__name__}.") from err
    if not (jnp.issubdtype(arr.dtype, jnp.number) or jnp.issubdtype(arr.dtype, jnp.bool_)):
        raise ValueError(f"Argument `{name}` must be numeric, got dtype {arr.dtype}.")
    if jnp.issubdtype(arr.dtype, jnp.complexfloating) and not allow_complex:
        raise ValueError(f"Argument `{name}` must be real, got dtype {arr.dtype}.")
    if shape is not None and tuple(arr.shape) != tuple(shape):
        raise ValueError(f"Argument `{name}` must have shape {tuple(shape)}, but has shape {tuple(arr.shape)}.")
    val = concrete_value(x)
    if val is not None and val.dtype.kind in "fc" and not bool(np.all(np.isfinite(val))):
        raise ValueError(f"Argument `{name}` must be finite, got {val}.")
    if not jnp.issubdtype(arr.dtype, jnp.inexact):
        arr = arr.astype(jnp.result_type(float))
    return arr


def nonnegative(name: str, x):
    """A real, finite scalar that must be >= 0 when concrete (disorder strengths)."""
    arr = as_param(name, x, ())
    val = concrete_value(x)
    if val is not None and float(val) < 0:
        raise ValueError(f"Argument `{name}` must be >= 0, got {float(val)}.")
    return arr


def is_zero(x) -> bool:
    """True if the caller's ``x`` is known now to be zero (False for tracers)."""
    val = concrete_value(x)
    return val is not None and val.size > 0 and bool(np.all(val == 0))


def check_key(key, needed: bool, what: str):
    """``key`` must be a PRNG key when ``needed`` (a nonzero or traced disorder strength)."""
    if key is None:
        if needed:
            raise ValueError(
                f"Argument `key` must be a jax PRNG key when {what} is requested (nonzero or traced "
                "disorder strength), got None."
            )
        return None
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(f"Argument `key` must be a single PRNG key, got shape {key.shape}.")
        return key
    arr = jnp.asarray(key)
    if arr.shape != (2,) or arr.dtype != jnp.uint32:
        raise ValueError(
            "Argument `key` must be a PRNG key (jax.random.key(seed) or jax.random.PRNGKey(seed)), "
            f"got shape {arr.shape} dtype {arr.dtype}."
        )
    return arr


def lattice(lat, kinds: tuple[str, ...], what: str, builder: bool = False) -> Lattice:
    """``lat`` must be a :class:`Lattice` of one of ``kinds``, for ``what`` (e.g. "the SSH model",
    "the winding number"). A builder (``builder=True``) also refuses a lattice with a site order
    of its own (:func:`tnn.lattice.from_sites`): it writes the library's order."""
    if not isinstance(lat, Lattice):
        raise ValueError(f"Argument `lat` must be a tnn.lattice.Lattice, got {type(lat).__name__}.")
    if lat.kind not in kinds:
        raise ValueError(f"Argument `lat` must be a {' or '.join(kinds)} lattice for {what}, got a {lat.kind} lattice.")
    if builder and lat.order is not None:
        raise ValueError(
            f"Argument `lat` has a site order of its own (tnn.lattice.from_sites), but {what} is built in the "
            f"library's order: build it on tnn.lattice.{lat.kind}(*{lat.dims}, pbc={lat.pbc}) instead."
        )
    return lat


def square_matrix(name: str, H, n: int | None = None):
    arr = H if isinstance(H, jax.Array) else jnp.asarray(H)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"Argument `{name}` must have shape (N, N), but has shape {tuple(arr.shape)}.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            f"Argument `{name}` must have shape ({n}, {n}) to match the lattice, but has shape "
            f"{tuple(arr.shape)}."
        )
    return arr
