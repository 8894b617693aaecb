"""The compiled side of a sweep: one item as a function, its tracing and fingerprint, the chunk program.

An *item* is one grid point with one seed index ``s``. :func:`point_fn` turns the user's
``fn(**point[, key])`` into ``f(s, *values)``; :func:`chunk_runner` is ``f`` vmapped over a chunk
of items and split over the devices of a 1D mesh with ``jax.shard_map``. The arguments of both are
the seed indices (``int32``) followed by one column per grid axis, in the grid's order
(:func:`avals`).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Mapping, Sequence

import numpy as np
import jax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["AXIS", "jax_dtype", "point_fn", "avals", "trace", "mesh", "item_sharding", "chunk_runner"]

#: the name of the mesh axis the items of a chunk are split over
AXIS = "points"


def jax_dtype(arr: np.ndarray) -> np.dtype:
    """The dtype a grid axis' values have inside ``fn`` (bool, or JAX's canonical dtype)."""
    if arr.dtype.kind == "b":
        return np.dtype(bool)
    return np.dtype(jax.dtypes.canonicalize_dtype(arr.dtype))


def point_fn(fn, names: tuple[str, ...], n_keys: int, seed: int):
    """``f(s, *values)``: ``fn`` at one item, ``s`` the seed index (ignored without keys)."""

    def f(s, *values):
        kw = dict(zip(names, values))
        if n_keys > 0:
            kw["key"] = jax.random.fold_in(jax.random.key(seed), s)
        return fn(**kw)

    return f


def avals(axes: Mapping[str, np.ndarray], batch: tuple[int, ...] = ()):
    """Abstract arguments of :func:`point_fn` (``batch=()``) or of a chunk of ``batch`` items."""
    return (jax.ShapeDtypeStruct(batch, np.int32), *(jax.ShapeDtypeStruct(batch, jax_dtype(a)) for a in axes.values()))


def trace(fn, axes: dict[str, np.ndarray], n_keys: int, seed: int):
    """Lower ``fn`` for one point: ``(output aval, fingerprint)``; the fingerprint is a hash of the
    lowered StableHLO. Untraceable ``fn``, or one that returns no single numeric array -> ValueError."""
    names = tuple(axes)
    f = point_fn(fn, names, n_keys, seed)
    try:
        lowered = jax.jit(f).lower(*avals(axes))
    except Exception as err:  # noqa: BLE001 - any tracing failure means fn is not a jittable point function
        raise ValueError(
            f"Argument `fn` cannot be traced by jax.jit with traced scalar arguments {list(names)}"
            f"{' and key' if n_keys else ''} ({type(err).__name__}: {err}). It must be a pure JAX function "
            "of its arguments (no float(), if/while on values, NumPy calls on them)."
        ) from err
    out = lowered.out_info
    if not isinstance(out, jax.ShapeDtypeStruct):
        raise ValueError(
            f"Argument `fn` must return one array (a scalar usually), but returns {jax.tree_util.tree_structure(out)}; "
            "stack several outputs into one array, or sweep them separately."
        )
    if not (jnp.issubdtype(out.dtype, jnp.number) or out.dtype == bool):
        raise ValueError(f"Argument `fn` must return numbers, got dtype {out.dtype}.")
    text = lowered.as_text()
    fingerprint = hashlib.sha256(text.encode()).hexdigest()[:16]
    return out, fingerprint


def mesh(devices: Sequence[jax.Device]) -> Mesh:
    """The 1D mesh over ``devices`` (axis :data:`AXIS`)."""
    return Mesh(np.asarray(devices), (AXIS,))


def item_sharding(m: Mesh) -> NamedSharding:
    """Items split evenly over the mesh: where a chunk's argument columns are put."""
    return NamedSharding(m, PartitionSpec(AXIS))


def _make_runner(fn, names, n_keys, seed, m: Mesh):
    f = point_fn(fn, names, n_keys, seed)
    spec = PartitionSpec(AXIS)
    n_in = 1 + len(names)
    return jax.jit(jax.shard_map(jax.vmap(f), mesh=m, in_specs=(spec,) * n_in, out_specs=spec))


_cached_runner = functools.lru_cache(maxsize=16)(_make_runner)


def chunk_runner(fn, names: tuple[str, ...], n_keys: int, seed: int, m: Mesh):
    """The chunk function ``(s, *columns) -> values`` (compiled on first call); cached per ``fn`` so
    that sweeping the same ``fn`` again (another grid, a resumed run in the same process) does not
    recompile."""
    try:
        hash(fn)
    except TypeError:
        return _make_runner(fn, names, n_keys, seed, m)
    return _cached_runner(fn, names, n_keys, seed, m)
