"""How a sweep will run: argument checks, memory estimates and the chunk plan.

:func:`check_args` validates the arguments :func:`tnn.sweeps.sweep` and :func:`plan` share (each
failure a ``ValueError`` naming the argument). :func:`make_plan` fixes the chunk size: an explicit
``chunk`` rounded up to the device count, or, with ``chunk=None``, the items per device that fit
the argument + output + temporary bytes of a one-item trial compile into
:data:`MEMORY_FRACTION` of the free memory, at most :data:`MAX_CHUNK_PER_DEVICE`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import os
from typing import Any, Mapping, Protocol, Sequence

import numpy as np
import jax

from tnn import _checks
from tnn.sweeps import program

__all__ = [
    "PointFn",
    "ProgressFn",
    "SweepPlan",
    "MAX_CHUNK_PER_DEVICE",
    "MEMORY_FRACTION",
    "plan",
    "make_plan",
    "check_args",
    "check_out_dims",
    "compiled_bytes",
]

#: Largest number of items one device evaluates per chunk when ``chunk=None``: beyond this a
#: vmapped batch is no faster per item, and smaller chunks stream to disk and report progress sooner.
MAX_CHUNK_PER_DEVICE = 256
#: Share of the free memory (host RAM on CPU, device memory elsewhere) a chunk may use.
MEMORY_FRACTION = 0.25
_RESERVED = ("key", "seed")


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
        _checks.check_finite(f"grid[{name!r}]", arr)
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


def _check_devices(devices) -> list:
    if devices is None:
        return list(jax.local_devices())
    devs = list(devices)
    if not devs or not all(isinstance(d, jax.Device) for d in devs) or len(set(devs)) != len(devs):
        raise ValueError(f"Argument `devices` must be a non-empty sequence of distinct jax devices, got {devices!r}.")
    return devs


def check_args(fn, grid, n_keys, seed, chunk, devices):
    """The checked ``(axes, n_keys, seed, chunk, devices)`` of a sweep (``ValueError`` naming the argument)."""
    if not callable(fn):
        raise ValueError(f"Argument `fn` must be callable, got {type(fn).__name__}.")
    axes = _check_grid(grid)
    n_keys = _checks.check_int("n_keys", n_keys, 0)
    seed = _checks.check_int("seed", seed, 0)
    if chunk is not None:
        chunk = _checks.check_int("chunk", chunk, 1)
    _check_signature(fn, tuple(axes), n_keys)
    return axes, n_keys, seed, chunk, _check_devices(devices)


def check_out_dims(out_dims, out_shape) -> tuple[str, ...]:
    """Names of ``fn``'s output dimensions: ``out_dims`` checked against ``out_shape``, or ``out_0, ...``."""
    if out_dims is None:
        return tuple(f"out_{i}" for i in range(len(out_shape)))
    dims = tuple(out_dims)
    if len(dims) != len(out_shape) or not all(isinstance(d, str) and d for d in dims):
        raise ValueError(f"Argument `out_dims` must name the {len(out_shape)} output dimension(s) of fn {out_shape}, got {out_dims!r}.")
    return dims


# ------------------------------------------------------------------------------------ memory
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


def compiled_bytes(fn, axes, n_keys, seed, devices, batch: int) -> int:
    """Argument + output + temporary bytes per device of the chunk program for ``batch`` items."""
    f = program.chunk_runner(fn, tuple(axes), n_keys, seed, program.mesh(devices))
    mem = f.lower(*program.avals(axes, (batch,))).compile().memory_analysis()
    if mem is None:
        return 0
    return int(mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes)


@functools.lru_cache(maxsize=16)
def _bytes_per_point_cached(fn, names, dtypes, n_keys, seed, device) -> int:
    axes = {n: np.zeros(1, d) for n, d in zip(names, dtypes)}
    return compiled_bytes(fn, axes, n_keys, seed, [device], 1)


def _bytes_per_point(fn, axes, n_keys, seed, device) -> int:
    """Argument + output + temporary bytes of a one-item vmapped chunk, from a trial compile."""
    dtypes = tuple(program.jax_dtype(a) for a in axes.values())
    try:
        hash(fn)
    except TypeError:
        return _bytes_per_point_cached.__wrapped__(fn, tuple(axes), dtypes, n_keys, seed, device)
    return _bytes_per_point_cached(fn, tuple(axes), dtypes, n_keys, seed, device)


# -------------------------------------------------------------------------------------- plan
def make_plan(fn, axes, n_keys, seed, chunk, devices, traced, *, measure: bool, exact_chunk: bool = False) -> SweepPlan:
    """The plan for checked arguments (:func:`check_args`) and ``traced = program.trace(...)``.

    ``measure``: trial-compile one point even with an explicit ``chunk`` (for :func:`plan`'s report).
    ``exact_chunk``: keep ``chunk`` as given (a resumed sweep's recorded size), not rounded up to
    the device count.
    """
    names = tuple(axes)
    shape = tuple(len(a) for a in axes.values())
    out, fingerprint = traced
    n_items = math.prod(shape) * max(n_keys, 1)
    d = len(devices)
    per_point = budget = 0
    if measure or chunk is None:
        # Measured on this process' first device; on CPU its host's memory is shared by its devices.
        mine = [dev for dev in devices if dev.process_index == jax.process_index()] or list(devices)
        per_point = _bytes_per_point(fn, axes, n_keys, seed, mine[0])
        budget = int(MEMORY_FRACTION * _free_bytes(mine[0])) // (len(mine) if mine[0].platform == "cpu" else 1)
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
    axes, n_keys, seed, chunk, devices = check_args(fn, grid, n_keys, seed, chunk, devices)
    pl = make_plan(fn, axes, n_keys, seed, chunk, devices, program.trace(fn, axes, n_keys, seed), measure=True)
    if measure_chunk:
        pl = dataclasses.replace(pl, chunk_bytes_compiled=compiled_bytes(fn, axes, n_keys, seed, devices, pl.chunk))
    return pl
