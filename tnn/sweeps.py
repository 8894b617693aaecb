r"""Parameter sweeps: one jittable function over a product grid and disorder seeds, on all devices.

Write the function for **one** point (STYLE: batchless, traced parameters, static geometry) and let
:func:`sweep` evaluate it over the product of 1D grids, ``n_keys`` disorder keys per grid point,
chunked to fit in memory, sharded over the local devices, streamed to disk and resumable::

    import numpy as np
    import tnn
    from tnn import hamiltonians, invariants, lattice, sweeps

    tnn.enable_x64()
    lat = lattice.chain(64, pbc=True)

    def winding(v, w, Wb, key):                      # one point; traced v, w, Wb and key
        H = hamiltonians.ssh(jnp.stack([v, w]), lat, bond_disorder=Wb, key=key)
        return invariants.winding_number(H, lat)     # NaN where ill-defined (gapless)

    da = sweeps.sweep(winding, {"v": np.linspace(0, 2, 41), "w": [1.0], "Wb": [0.0, 1.0, 2.0]},
                      n_keys=16, seed=0, out="results/ssh.nc")
    da.dims                          # ("v", "w", "Wb", "seed")
    st = sweeps.disorder_stats(da)   # mean, std, sem, nan_fraction, n_valid over "seed"
    sweeps.seeds_needed(da, 0.01)    # seeds for a standard error of 0.01 at every grid point
    st["mean"].sel(w=1.0).plot()     # a phase diagram is one .plot() away

Semantics
---------
* **Points and keys.** Item ``(p, s)`` is grid point ``p`` (C order over the axes, in the dict's
  order) with seed index ``s``; it calls ``fn(**point)`` or, when ``n_keys > 0``,
  ``fn(**point, key=jax.random.fold_in(jax.random.key(seed), s))``. Seed index ``s`` gets the
  same key at every grid point (common random numbers: a phase diagram's cells differ by their
  parameters, not by fresh noise), and the keys do not depend on ``n_keys``: a sweep with more
  seeds extends one with fewer.
* **Output.** ``fn`` returns one array of a fixed shape (a scalar usually). The result is an
  ``xarray.DataArray`` of shape ``(*len(grid[name]) for name in grid, [n_keys], *out_shape)``,
  dims ``(*grid, ["seed"], *out_dims)``, coordinates the grid values (and ``seed = 0..n_keys-1``),
  ``attrs`` with the seed, the chunk and device count and a fingerprint of ``fn``. NaN from ``fn``
  (the invariants' mark of an ill-defined, gapless point) is kept as NaN everywhere, on disk too.
* **Chunks.** Items are evaluated ``chunk`` at a time by one compiled ``jax.vmap`` of ``fn``; the
  last chunk is padded (with its last item) so one compilation serves all. With ``chunk=None`` the
  size comes from a trial compile of one point (``jax.jit(...).lower(...).compile()
  .memory_analysis()``: argument + output + temporary bytes) against a budget of a quarter of the
  free memory (host RAM on CPU, device memory on accelerators), at most
  :data:`MAX_CHUNK_PER_DEVICE` items per device.
* **Devices.** Each chunk is split evenly over ``devices`` (default ``jax.local_devices()``) by
  ``jax.shard_map`` on a 1D mesh; every device runs the same vmapped program on its slice. The
  values do not depend on the device count when each device gets the same batch (``chunk / n_dev``
  items): 4 devices with ``chunk=16`` give the bits of 1 device with ``chunk=4``. Other batch sizes
  agree to rounding only (about 1e-15 here: XLA's CPU kernels may round a batch of 4 and one of 16
  differently). On a CPU
  host, several devices exist only when asked for before JAX starts:
  ``XLA_FLAGS=--xla_force_host_platform_device_count=4`` or
  ``jax.config.update("jax_num_cpu_devices", 4)``. Measured caveat: with jaxlib 0.10.2 on a shared
  2-core machine, 4 forced host devices running LAPACK calls (the invariants' SVD/eigh) side by side
  wedged the CPU runtime (blocked, no CPU use) in about half of the runs; forced host devices cannot
  beat the real cores anyway, so on CPU prefer ``devices=jax.local_devices()[:1]`` (or as many
  devices as cores) for production sweeps.
* **Streaming and resuming.** With ``out`` (``.nc``: NetCDF4 through h5netcdf; ``.npz``: NumPy
  archive with the axes), every finished chunk is written atomically to ``<out>.partial/`` next to
  a ``meta.json`` that records the grid, ``n_keys``, ``seed``, ``chunk`` and the fingerprint of
  ``fn`` (a hash of its lowered StableHLO for one point). A killed sweep, run again with the same
  arguments, loads the finished chunks and computes only the missing ones, with the same chunk size,
  so the final arrays are bit for bit those of an uninterrupted run. When all chunks are done,
  ``out`` is written atomically and the partial folder removed; calling :func:`sweep` again then
  just loads ``out``. A different grid, seed, ``n_keys`` or function for the same ``out`` is an
  error, never a silent mix.

Across hosts (``jax.distributed``)
----------------------------------
:func:`sweep` shards over the devices of **one** process. On a cluster, run the same script on
every host and give each process its own slice of the first axis and its own output, then join::

    import jax, numpy as np, xarray as xr
    jax.distributed.initialize()                 # coordinator address etc. from the environment
    i, n = jax.process_index(), jax.process_count()
    vs = np.linspace(0, 2, 101)
    part = sweeps.sweep(fn, {"v": np.array_split(vs, n)[i], "w": ws}, n_keys=32, seed=0,
                        out=f"results/ssh.part{i}.nc")   # this host's local devices, resumable
    # afterwards, on any one host (shared file system):
    da = xr.concat([sweeps.load(f"results/ssh.part{j}.nc") for j in range(n)], dim="v")

Every process uses the same ``seed``, so seed index ``s`` means the same disorder realization on
every host and the joined array equals a one-host sweep. Only the single-host path is tested here.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence

import numpy as np
import jax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from tnn import _checks
from tnn import results as tres

__all__ = [
    "PointFn",
    "ProgressFn",
    "SweepPlan",
    "sweep",
    "plan",
    "load",
    "save",
    "disorder_stats",
    "seeds_needed",
    "MAX_CHUNK_PER_DEVICE",
    "MEMORY_FRACTION",
]

#: Largest number of items one device evaluates per chunk when ``chunk=None``: beyond this a
#: vmapped batch is no faster per item, and smaller chunks stream to disk and report progress sooner.
MAX_CHUNK_PER_DEVICE = 256
#: Share of the free memory (host RAM on CPU, device memory elsewhere) a chunk may use.
MEMORY_FRACTION = 0.25
_AXIS = "points"
_RESERVED = ("key", "seed")
_FORMATS = (".nc", ".npz")


class PointFn(Protocol):
    """``fn(**point) -> array`` or, with disorder keys, ``fn(**point, key=key) -> array``.

    Every value of ``point`` is a traced scalar; the output has a fixed shape and dtype.
    """

    def __call__(self, **params: jax.Array) -> jax.Array: ...


class ProgressFn(Protocol):
    """Called as ``progress(done, total)`` (items) at the start and after every finished chunk."""

    def __call__(self, done: int, total: int) -> None: ...


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """How a sweep will run (from :func:`plan`, or ``attrs`` of the result).

    Attributes:
      names: grid axis names, in order. shape: their lengths. n_keys: disorder keys per point.
      n_items: ``prod(shape) * max(n_keys, 1)``, the number of ``fn`` evaluations.
      n_devices: devices the chunks are split over. chunk: items per chunk (a multiple of
      ``n_devices``). n_chunks: ``ceil(n_items / chunk)``.
      bytes_per_point: argument + output + temporary bytes of one point, from a trial compile (0 when
      not measured: an explicit ``chunk`` needs none). chunk_bytes_estimate: ``bytes_per_point``
      times the items per device, the estimate a chunk was sized by. memory_budget: bytes per device
      the chunk size was fitted into (0 when not used).
      out_shape, out_dtype: of one ``fn`` value. fingerprint: hash of ``fn``'s lowering for one point.
      chunk_bytes_compiled: the same bytes of the compiled chunk program itself, per device (only
      from :func:`plan` with ``measure_chunk=True``, else 0): what the estimate is checked against.
    """

    names: tuple[str, ...]
    shape: tuple[int, ...]
    n_keys: int
    n_items: int
    n_devices: int
    chunk: int
    n_chunks: int
    bytes_per_point: int
    chunk_bytes_estimate: int
    memory_budget: int
    out_shape: tuple[int, ...]
    out_dtype: str
    fingerprint: str
    chunk_bytes_compiled: int = 0


# ------------------------------------------------------------------------------------- checks
def _check_grid(grid) -> dict[str, np.ndarray]:
    if not isinstance(grid, Mapping) or len(grid) == 0:
        raise ValueError(
            f"Argument `grid` must be a non-empty dict of axis name -> 1D array of values, got {grid!r}."
        )
    out = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"Argument `grid` has the axis name {name!r}; names must be Python identifiers (fn's argument names).")
        if name in _RESERVED:
            raise ValueError(f"Argument `grid` may not use the axis name {name!r}: it is reserved for disorder keys and seeds.")
        try:
            arr = np.asarray(values)
        except (TypeError, ValueError) as err:
            raise ValueError(f"Argument `grid[{name!r}]` must be a 1D array of numbers: {err}") from None
        if arr.ndim != 1:
            raise ValueError(
                f"Argument `grid[{name!r}]` must be a 1D array (one axis of the product grid), but has shape "
                f"{arr.shape}; pass each axis separately, not a meshgrid."
            )
        if arr.size == 0:
            raise ValueError(f"Argument `grid[{name!r}]` is empty; every axis needs at least one value.")
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"Argument `grid[{name!r}]` must hold real numbers, got dtype {arr.dtype}.")
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(f"Argument `grid[{name!r}]` must be finite, got {arr.tolist()}.")
        out[name] = arr
    return out


def _check_signature(fn, names: Sequence[str], n_keys: int) -> None:
    """Mismatched axes: a grid name ``fn`` does not take, or an argument of ``fn`` the grid lacks."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins, some C callables: leave it to tracing
        return
    kwargs = {n: 0.0 for n in names}
    if n_keys > 0:
        kwargs["key"] = None
    try:
        sig.bind(**kwargs)
    except TypeError as err:
        raise ValueError(
            f"Argument `grid` has axes {list(names)}{' and a key' if n_keys else ''}, which do not match "
            f"the arguments of `fn{sig}`: {err}. Name the grid axes after fn's arguments"
            f"{' and let fn take key=' if n_keys else ''}."
        ) from None


def _check_int(name: str, value, minimum: int) -> int:
    if not _checks.is_int(value) or value < minimum:
        raise ValueError(f"Argument `{name}` must be an int >= {minimum}, got {value!r}.")
    return int(value)


def _check_out(out) -> Path | None:
    if out is None:
        return None
    try:
        path = Path(os.fspath(out))
    except TypeError:
        raise ValueError(f"Argument `out` must be a path ending in .nc or .npz, got {out!r}.") from None
    if path.suffix not in _FORMATS:
        raise ValueError(f"Argument `out` must end in .nc (NetCDF) or .npz, got {str(path)!r}.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".tmp-probe-", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ValueError(f"Argument `out` ({path}) is not writable: {err.strerror or err}.") from None
    if path.exists() and not path.is_file():
        raise ValueError(f"Argument `out` ({path}) exists and is not a file.")
    return path


def _check_devices(devices) -> list:
    if devices is None:
        return list(jax.local_devices())
    devs = list(devices)
    if not devs or not all(isinstance(d, jax.Device) for d in devs) or len(set(devs)) != len(devs):
        raise ValueError(f"Argument `devices` must be a non-empty sequence of distinct jax devices, got {devices!r}.")
    return devs


# ------------------------------------------------------------------------------------ tracing
def _jax_dtype(arr: np.ndarray) -> np.dtype:
    if arr.dtype.kind == "b":
        return np.dtype(bool)
    return np.dtype(jax.dtypes.canonicalize_dtype(arr.dtype))


def _point_fn(fn, names: tuple[str, ...], n_keys: int, seed: int):
    """``f(s, *values)``: ``fn`` at one item, ``s`` the seed index (ignored without keys)."""

    def f(s, *values):
        kw = dict(zip(names, values))
        if n_keys > 0:
            kw["key"] = jax.random.fold_in(jax.random.key(seed), s)
        return fn(**kw)

    return f


def _avals(axes: Mapping[str, np.ndarray], batch: tuple[int, ...] = ()):
    return (jax.ShapeDtypeStruct(batch, np.int32), *(jax.ShapeDtypeStruct(batch, _jax_dtype(a)) for a in axes.values()))


def _trace(fn, axes: dict[str, np.ndarray], n_keys: int, seed: int):
    """Lower ``fn`` for one point: output aval and fingerprint. Untraceable ``fn`` -> ValueError."""
    names = tuple(axes)
    f = _point_fn(fn, names, n_keys, seed)
    try:
        lowered = jax.jit(f).lower(*_avals(axes))
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


def _mesh(devices) -> Mesh:
    return Mesh(np.asarray(devices), (_AXIS,))


def _make_runner(fn, names, n_keys, seed, mesh: Mesh):
    f = _point_fn(fn, names, n_keys, seed)
    spec = PartitionSpec(_AXIS)
    n_in = 1 + len(names)
    return jax.jit(jax.shard_map(jax.vmap(f), mesh=mesh, in_specs=(spec,) * n_in, out_specs=spec))


_cached_runner = functools.lru_cache(maxsize=16)(_make_runner)


def _runner(fn, names, n_keys, seed, mesh: Mesh):
    """The chunk function (compiled on first call); cached per ``fn`` so that sweeping the same
    ``fn`` again (another grid, a resumed run in the same process) does not recompile."""
    try:
        hash(fn)
    except TypeError:
        return _make_runner(fn, names, n_keys, seed, mesh)
    return _cached_runner(fn, names, n_keys, seed, mesh)


def _free_bytes(device) -> int:
    """Free memory for one device: the device's own (accelerators), else the host's MemAvailable."""
    stats = None
    try:
        stats = device.memory_stats()
    except Exception:  # noqa: BLE001 - backends without memory stats raise or return None
        stats = None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def _compiled_bytes(fn, axes, n_keys, seed, devices, batch: int) -> int:
    """Argument + output + temporary bytes per device of the chunk program for ``batch`` items."""
    f = _runner(fn, tuple(axes), n_keys, seed, _mesh(devices))
    mem = f.lower(*_avals(axes, (batch,))).compile().memory_analysis()
    if mem is None:
        return 0
    return int(mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes)


@functools.lru_cache(maxsize=16)
def _bytes_per_point_cached(fn, names, dtypes, n_keys, seed, device) -> int:
    axes = {n: np.zeros(1, d) for n, d in zip(names, dtypes)}
    return _compiled_bytes(fn, axes, n_keys, seed, [device], 1)


def _bytes_per_point(fn, axes, n_keys, seed, device) -> int:
    """Argument + output + temporary bytes of a one-item vmapped chunk, from a trial compile."""
    dtypes = tuple(_jax_dtype(a) for a in axes.values())
    try:
        hash(fn)
    except TypeError:
        return _bytes_per_point_cached.__wrapped__(fn, tuple(axes), dtypes, n_keys, seed, device)
    return _bytes_per_point_cached(fn, tuple(axes), dtypes, n_keys, seed, device)


# -------------------------------------------------------------------------------------- plan
def _plan(fn, axes, n_keys, seed, chunk, devices, traced, *, measure: bool, exact_chunk: bool = False) -> SweepPlan:
    names = tuple(axes)
    shape = tuple(len(a) for a in axes.values())
    out, fingerprint = traced
    n_items = math.prod(shape) * max(n_keys, 1)
    d = len(devices)
    per_point = budget = 0
    if measure or chunk is None:
        per_point = _bytes_per_point(fn, axes, n_keys, seed, devices[0])
        budget = int(MEMORY_FRACTION * min(_free_bytes(dev) for dev in devices[:1])) // (d if devices[0].platform == "cpu" else 1)
    if chunk is None:
        per_device = min(MAX_CHUNK_PER_DEVICE, -(-n_items // d))
        if per_point > 0:
            per_device = max(1, min(per_device, budget // per_point))
        chunk = per_device * d
    elif not exact_chunk:
        # Round up to the device count: every device gets the same number of items.
        chunk = -(-chunk // d) * d
    return SweepPlan(
        names=names, shape=shape, n_keys=n_keys, n_items=n_items, n_devices=d, chunk=chunk,
        n_chunks=-(-n_items // chunk), bytes_per_point=per_point,
        chunk_bytes_estimate=per_point * (chunk // d), memory_budget=budget,
        out_shape=tuple(out.shape), out_dtype=str(np.dtype(out.dtype)), fingerprint=fingerprint,
    )


def plan(fn: PointFn, grid: Mapping[str, Any], *, n_keys: int = 0, seed: int = 0, chunk: int | None = None,
         devices: Sequence[jax.Device] | None = None, measure_chunk: bool = False) -> SweepPlan:
    """The :class:`SweepPlan` :func:`sweep` would follow (traces and trial-compiles ``fn``; runs nothing).

    ``measure_chunk=True`` also compiles the chunk program and records its memory
    (``chunk_bytes_compiled``), to check the estimate.
    """
    axes, n_keys, seed, chunk, devices = _check_args(fn, grid, n_keys, seed, chunk, devices)
    pl = _plan(fn, axes, n_keys, seed, chunk, devices, _trace(fn, axes, n_keys, seed), measure=True)
    if measure_chunk:
        pl = dataclasses.replace(pl, chunk_bytes_compiled=_compiled_bytes(fn, axes, n_keys, seed, devices, pl.chunk))
    return pl


def _check_args(fn, grid, n_keys, seed, chunk, devices):
    if not callable(fn):
        raise ValueError(f"Argument `fn` must be callable, got {type(fn).__name__}.")
    axes = _check_grid(grid)
    n_keys = _check_int("n_keys", n_keys, 0)
    seed = _check_int("seed", seed, 0)
    if chunk is not None:
        chunk = _check_int("chunk", chunk, 1)
    _check_signature(fn, tuple(axes), n_keys)
    return axes, n_keys, seed, chunk, _check_devices(devices)


# ------------------------------------------------------------------------------------- sweep
def sweep(fn: PointFn, grid: Mapping[str, Any], *, n_keys: int = 0, seed: int = 0, out=None,
          chunk: int | None = None, devices: Sequence[jax.Device] | None = None,
          progress: ProgressFn | None = None, out_dims: Sequence[str] | None = None):
    """Evaluate ``fn`` over the product of the axes in ``grid`` times ``n_keys`` disorder keys.

    Args:
      fn: one-point function ``fn(**point) -> array`` (plus ``key=`` when ``n_keys > 0``), pure and
        jittable; every point value arrives as a traced scalar of the axis' dtype. Returns one array
        of a fixed shape (``()`` for an invariant), NaN where the value is ill-defined.
      grid: dict axis name (an argument name of ``fn``) -> 1D array of values, in output order.
      n_keys: disorder keys per grid point (0: ``fn`` takes no key, no ``seed`` dimension).
      seed: the keys are ``jax.random.fold_in(jax.random.key(seed), s)``, ``s = 0..n_keys-1``.
      out: ``None`` (keep in memory), or a ``.nc`` / ``.npz`` path: chunks stream to
        ``<out>.partial/`` and the run resumes from there; the finished array is written to ``out``.
      chunk: items per compiled ``vmap`` call (rounded up to a multiple of the device count);
        ``None``: from the measured memory of one point (module docstring).
      devices: the devices to shard over (default all local devices).
      progress: :class:`ProgressFn` called with ``(done, total)`` items (e.g. a tqdm's update).
      out_dims: names of ``fn``'s output dimensions when it returns an array (default
        ``out_0, out_1, ...``).

    Returns:
      ``xarray.DataArray`` of shape ``(*(len(v) for v in grid.values()), [n_keys], *out_shape)``,
      dims ``(*grid, ["seed"], *out_dims)``; ``attrs`` hold the plan (:class:`SweepPlan` fields).

    Raises:
      ValueError naming the argument: an empty grid, an axis that is not 1D or is empty, axes that
      do not match ``fn``'s arguments, ``fn`` that cannot be traced by ``jax.jit``, ``chunk`` < 1,
      an unwritable ``out``, or an ``out`` that holds a different sweep.
    """
    axes, n_keys, seed, chunk, devices = _check_args(fn, grid, n_keys, seed, chunk, devices)
    path = _check_out(out)
    names = tuple(axes)

    traced = _trace(fn, axes, n_keys, seed)
    if path is not None and path.exists():
        done = load(path)
        _check_same(path, done.attrs, axes, n_keys, seed, traced[1], _coords_of(done))
        return done

    partial = _partial_dir(path)
    meta = _read_meta(partial) if partial is not None else None
    if meta is not None:
        _check_same(path, meta, axes, n_keys, seed, traced[1], meta["grid"])
        if chunk is not None and -(-chunk // len(devices)) * len(devices) != meta["chunk"]:
            raise ValueError(
                f"Argument `chunk` ({chunk}) differs from the chunk size {meta['chunk']} of the interrupted sweep "
                f"in {partial}; pass chunk=None (or {meta['chunk']}) to resume bit for bit, or delete that folder."
            )
        chunk = meta["chunk"]
    # A resumed sweep keeps its recorded chunk (the item ranges of the finished files) even on
    # another device count; each call is then padded to a multiple of the devices.
    pl = _plan(fn, axes, n_keys, seed, chunk, devices, traced, measure=False, exact_chunk=meta is not None)
    out_dims = _check_out_dims(out_dims, pl.out_shape)

    if partial is not None and meta is None:
        meta = {
            "format": 1, "names": list(names), "grid": {n: a.tolist() for n, a in axes.items()},
            "n_keys": n_keys, "seed": seed, "chunk": pl.chunk, "fingerprint": pl.fingerprint,
            "out_shape": list(pl.out_shape), "out_dtype": pl.out_dtype,
        }
        tres.write_json(partial / "meta.json", meta)

    values = _run(fn, axes, n_keys, seed, pl, devices, partial, progress)
    shape = (*pl.shape, *((n_keys,) if n_keys else ()), *pl.out_shape)
    values = values.reshape(shape)
    da = _to_dataarray(values, axes, n_keys, out_dims, pl, seed, len(devices), fn)
    if path is not None:
        save(path, da)
        shutil.rmtree(partial, ignore_errors=True)
    return da


def _check_out_dims(out_dims, out_shape) -> tuple[str, ...]:
    if out_dims is None:
        return tuple(f"out_{i}" for i in range(len(out_shape)))
    dims = tuple(out_dims)
    if len(dims) != len(out_shape) or not all(isinstance(d, str) and d for d in dims):
        raise ValueError(f"Argument `out_dims` must name the {len(out_shape)} output dimension(s) of fn {out_shape}, got {out_dims!r}.")
    return dims


def _item_columns(axes, n_keys, lo, hi):
    """Seed indices and the axis values of items ``lo..hi-1`` (NumPy, JAX dtypes)."""
    items = np.arange(lo, hi)
    n_seed = max(n_keys, 1)
    p, s = np.divmod(items, n_seed)
    idx = np.unravel_index(p, tuple(len(a) for a in axes.values()))
    cols = [a[i].astype(_jax_dtype(a)) for a, i in zip(axes.values(), idx)]
    return [s.astype(np.int32), *cols]


def _run(fn, axes, n_keys, seed, pl: SweepPlan, devices, partial: Path | None, progress) -> np.ndarray:
    names = tuple(axes)
    mesh = _mesh(devices)
    sharding = NamedSharding(mesh, PartitionSpec(_AXIS))
    d = len(devices)
    call_size = -(-pl.chunk // d) * d
    runner = _runner(fn, names, n_keys, seed, mesh)
    results: list[np.ndarray | None] = [None] * pl.n_chunks
    if partial is not None:
        for j in range(pl.n_chunks):
            f = partial / f"chunk_{j:06d}.npy"
            if f.exists():
                results[j] = np.load(f, allow_pickle=False)
    todo = [j for j in range(pl.n_chunks) if results[j] is None]
    done_items = sum(len(r) for r in results if r is not None)
    if progress is not None:
        progress(done_items, pl.n_items)

    def launch(j):
        lo, hi = j * pl.chunk, min((j + 1) * pl.chunk, pl.n_items)
        cols = _item_columns(axes, n_keys, lo, hi)
        pad = call_size - (hi - lo)
        if pad:  # repeat the last item: valid parameters, one compiled shape for every call
            cols = [np.concatenate([c, np.repeat(c[-1:], pad)]) for c in cols]
        return runner(*(jax.device_put(c, sharding) for c in cols)), hi - lo

    # One chunk in flight at a time. Overlapping the next chunk's launch with this one's wait
    # deadlocked XLA's CPU runtime (jax 0.10.2) with 4 forced host devices running LAPACK custom
    # calls (SVD) side by side: reproduced about one run in two, blocked with no CPU use.
    for j in todo:
        res, n = launch(j)
        arr = np.asarray(res)[:n]
        if partial is not None:
            _save_npy(partial / f"chunk_{j:06d}.npy", arr)
        results[j] = arr
        done_items += n
        if progress is not None:
            progress(done_items, pl.n_items)
    return np.concatenate(results, axis=0)


def _save_npy(path: Path, arr: np.ndarray) -> None:
    import io as _io

    buf = _io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    tres.atomic_write_bytes(path, buf.getvalue())


def _partial_dir(path: Path | None) -> Path | None:
    return None if path is None else path.with_name(path.name + ".partial")


def _read_meta(partial: Path) -> dict | None:
    f = partial / "meta.json"
    return tres.read_json(f) if f.exists() else None


def _coords_of(da) -> dict[str, list]:
    return {n: np.asarray(da.coords[n]).tolist() for n in da.attrs.get("grid_names", "").split(",") if n}


def _check_same(path, rec: Mapping, axes, n_keys, seed, fingerprint, rec_grid) -> None:
    """Refuse to resume or reuse ``out`` when it belongs to another sweep."""
    want = {n: a.tolist() for n, a in axes.items()}
    diffs = []
    if list(rec_grid) != list(want) or any(
        not np.array_equal(np.asarray(rec_grid[n]), np.asarray(want[n])) for n in want
    ):
        diffs.append("grid")
    if int(rec["n_keys"]) != n_keys:
        diffs.append(f"n_keys ({rec['n_keys']} there)")
    if int(rec["seed"]) != seed:
        diffs.append(f"seed ({rec['seed']} there)")
    if str(rec["fingerprint"]) != fingerprint:
        diffs.append("fn (its lowering differs)")
    if diffs:
        raise ValueError(
            f"Argument `out` ({path}) holds a different sweep (differs in {', '.join(diffs)}); "
            "choose another path or delete it (and its .partial folder)."
        )


# ------------------------------------------------------------------------------ xarray and I/O
def _xr():
    import xarray

    return xarray


def _to_dataarray(values, axes, n_keys, out_dims, pl: SweepPlan, seed, n_devices, fn):
    xr = _xr()
    dims = (*axes, *(("seed",) if n_keys else ()), *out_dims)
    coords = {n: a for n, a in axes.items()}
    if n_keys:
        coords["seed"] = np.arange(n_keys)
    name = getattr(fn, "__name__", "value")
    attrs = {
        "grid_names": ",".join(axes), "n_keys": n_keys, "seed": seed,
        "key_derivation": "jax.random.fold_in(jax.random.key(seed), seed_index)",
        "chunk": pl.chunk, "n_chunks": pl.n_chunks, "n_devices": n_devices,
        "fingerprint": pl.fingerprint, "fn": str(name),
    }
    return xr.DataArray(values, dims=dims, coords=coords, name=name if str(name).isidentifier() else "value", attrs=attrs)


def save(path, da) -> Path:
    """Write a sweep's ``DataArray`` to ``path`` atomically: ``.nc`` (NetCDF4, h5netcdf) or ``.npz``.

    The ``.npz`` holds ``values``, ``dims`` (names), one ``coord_<dim>`` per coordinate and
    ``attrs`` (JSON), readable with NumPy alone.
    """
    path = Path(path)
    if path.suffix not in _FORMATS:
        raise ValueError(f"Argument `path` must end in .nc or .npz, got {str(path)!r}.")
    if path.suffix == ".npz":
        arrays = {"values": np.asarray(da.values), "dims": np.asarray(da.dims, dtype=str),
                  "attrs": np.asarray(json.dumps(tres.to_jsonable(dict(da.attrs)))),
                  "name": np.asarray(str(da.name))}
        for c in da.coords:
            arrays[f"coord_{c}"] = np.asarray(da.coords[c].values)
        return tres.save_arrays(path, arrays)
    with tres.atomic_target(path, suffix=".nc") as tmp:
        da.to_netcdf(tmp, engine="h5netcdf")
    return path


def load(path):
    """Read a sweep written by :func:`sweep` / :func:`save` (``.nc`` or ``.npz``) into memory."""
    xr = _xr()
    path = Path(path)
    if path.suffix == ".npz":
        z = tres.load_arrays(path)
        dims = tuple(str(d) for d in z["dims"])
        coords = {k[len("coord_"):]: v for k, v in z.items() if k.startswith("coord_")}
        return xr.DataArray(z["values"], dims=dims, coords=coords, name=str(z["name"]),
                            attrs=json.loads(str(z["attrs"])))
    return xr.load_dataarray(path, engine="h5netcdf")


# ---------------------------------------------------------------------------- disorder statistics
def disorder_stats(da, dim: str = "seed"):
    r"""Mean, standard deviation, standard error and ill-defined fraction over disorder samples.

    NaN samples (ill-defined: gapless, or flagged by the invariant) are left out of the moments and
    counted instead. With ``n`` valid samples ``x_i`` at a grid point:
    ``mean = sum x_i / n``, ``std = sqrt(sum (x_i - mean)^2 / (n - 1))`` (sample std),
    ``sem = std / sqrt(n)``, ``nan_fraction = 1 - n / n_samples``. ``mean`` is NaN when ``n = 0``;
    ``std`` and ``sem`` when ``n < 2``.

    Args:
      da: ``DataArray`` with a ``dim`` dimension (a :func:`sweep` with ``n_keys > 0``).
      dim: the sample dimension.

    Returns:
      ``xarray.Dataset`` with ``mean``, ``std``, ``sem``, ``nan_fraction`` (float) and ``n_valid``
      (int), each with ``da``'s dims less ``dim``.
    """
    xr = _xr()
    if dim not in da.dims:
        raise ValueError(f"Argument `dim` ({dim!r}) is not a dimension of `da` {da.dims}.")
    x = da.transpose(..., dim)
    vals = np.asarray(x.values, dtype=float)
    valid = ~np.isnan(vals)
    n = valid.sum(axis=-1)
    total = vals.shape[-1]
    s1 = np.where(valid, vals, 0.0).sum(axis=-1)
    mean = np.full(n.shape, np.nan)
    np.divide(s1, n, out=mean, where=n > 0)
    dev = np.where(valid, vals - mean[..., None], 0.0)
    var = np.full(n.shape, np.nan)
    np.divide((dev**2).sum(axis=-1), n - 1, out=var, where=n > 1)
    std = np.sqrt(var)
    sem = np.full(n.shape, np.nan)
    np.divide(std, np.sqrt(n), out=sem, where=n > 1)
    dims = x.dims[:-1]
    coords = {c: v for c, v in x.coords.items() if dim not in v.dims}

    def mk(a):
        return xr.DataArray(a, dims=dims, coords=coords)

    return xr.Dataset(
        {"mean": mk(mean), "std": mk(std), "sem": mk(sem), "nan_fraction": mk(1.0 - n / total), "n_valid": mk(n)},
        attrs={"n_samples": total, "dim": dim},
    )


def seeds_needed(da, target_sem: float, dim: str = "seed"):
    r"""Disorder samples needed at each grid point for a standard error ``target_sem`` of the mean.

    From the sample std of the valid samples: ``n_valid = ceil((std / target_sem)^2)`` (at least
    2), inflated by the observed ill-defined fraction: ``n = ceil(n_valid / (1 - nan_fraction))``.
    A point whose samples all agree needs 2. NaN where it cannot be estimated: fewer than 2 valid
    samples so far.

    Args:
      da: a sweep with a ``dim`` dimension, or the ``Dataset`` of :func:`disorder_stats`.
      target_sem: the wanted standard error, > 0.

    Returns:
      ``DataArray`` (float: whole numbers or NaN) with ``da``'s dims less ``dim``.
    """
    if not isinstance(target_sem, (int, float, np.floating, np.integer)) or isinstance(target_sem, bool) \
            or not np.isfinite(target_sem) or target_sem <= 0:
        raise ValueError(f"Argument `target_sem` must be a number > 0, got {target_sem!r}.")
    st = da if {"std", "nan_fraction"} <= set(getattr(da, "data_vars", ())) else disorder_stats(da, dim)
    std = np.asarray(st["std"].values, dtype=float)
    frac = np.asarray(st["nan_fraction"].values, dtype=float)
    ok = np.isfinite(std) & (frac < 1)
    n_valid = np.maximum(2.0, np.ceil(np.where(ok, std, 0.0) ** 2 / float(target_sem) ** 2))
    need = np.full(std.shape, np.nan)
    np.divide(n_valid, 1.0 - frac, out=need, where=ok)
    need = np.where(ok, np.ceil(need - 1e-9), np.nan)
    return st["std"].copy(data=need).rename("seeds_needed")
