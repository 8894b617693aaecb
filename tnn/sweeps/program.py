"""The compiled side of a sweep: one item as a function, its tracing and fingerprint, the chunk program.

An *item* is one grid point with one seed index ``s``. :func:`point_fn` turns the user's
``fn(**point[, key])`` into ``f(s, *values)``; :func:`chunk_runner` is ``f`` over a chunk of items
(vmapped; on CPU mapped one item at a time, see :func:`per_device`) and split over the devices of a
1D mesh with ``jax.shard_map``. The arguments of both are the seed indices (``int32``) followed by
one column per grid axis, in the grid's order (:func:`avals`).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Mapping, Sequence

import numpy as np
import jax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["AXIS", "jax_dtype", "point_fn", "avals", "trace", "mesh", "item_sharding", "per_device", "chunk_runner"]

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


def per_device(f, platform: str):
    """``f`` over one device's slice of a chunk: ``jax.vmap`` on accelerators; on CPU one item at a
    time (``jax.lax.map``), so that no LAPACK call (SVD, eigh, ...) of ``f`` gets a batch.

    Why not ``vmap`` on CPU: jaxlib 0.9.1-0.11.0 (SVD from 0.9.1, every LAPACK kernel from 0.10.0;
    0.10.2 here) splits a batched LAPACK call into tasks on XLA:CPU's intra-op thread pool and
    blocks its own thread until they finish (``ParallelBatchMap`` in
    ``jaxlib/cpu/lapack_kernels.cc``). The pool has one thread per core and is shared by all host
    devices; XLA's thunk executor runs a program with concurrent branches partly on it (in issue
    22's case the two independent noise streams of a disordered SSH chain were the branch: one
    stream, or none, did not hang). When every pool thread sits in such a call, as both did with
    two forced host devices on two cores, no thread is left to run the tasks: the process blocks
    forever with no CPU use. Plain JAX does the same (two ``jax.random.uniform`` draws from split
    keys, their sum, a vmapped ``jnp.linalg.svd``); open-source jaxlib stopped parallelizing LAPACK
    batches after 0.11.0 (jax commit 859992407d). A batch of one runs inline in every version.

    On CPU the map costs nothing that matters (LAPACK dominates, parallelism comes from the
    devices; 160 disordered SSH winding numbers of 64 cells on one device: 0.21 s mapped, 0.23 s
    vmapped) and makes every value independent of the chunk size and the device count, bit for
    bit."""
    if platform == "cpu":
        return lambda *cols: jax.lax.map(lambda c: f(*c), cols)
    return jax.vmap(f)


def _make_runner(fn, names, n_keys, seed, m: Mesh):
    f = point_fn(fn, names, n_keys, seed)
    spec = PartitionSpec(AXIS)
    n_in = 1 + len(names)
    body = per_device(f, m.devices.flat[0].platform)
    return jax.jit(jax.shard_map(body, mesh=m, in_specs=(spec,) * n_in, out_specs=spec))


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
