"""Running a sweep: :func:`sweep` and its chunk loop, streaming to disk and resuming.

The arguments are checked and the plan made by :mod:`tnn.sweeps.planning`, the chunk program
compiled by :mod:`tnn.sweeps.program`, the values stored by :mod:`tnn.sweeps.store`; the
semantics (items, keys, chunks, devices, resuming) are in the :mod:`tnn.sweeps` docstring.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import jax

from tnn.sweeps import planning, program, store
from tnn.sweeps.planning import PointFn, ProgressFn, SweepPlan

__all__ = ["sweep"]


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
        ``None``: from the measured memory of one point (the :mod:`tnn.sweeps` docstring).
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
    axes, n_keys, seed, chunk, devices = planning.check_args(fn, grid, n_keys, seed, chunk, devices)
    path = store.check_out(out)
    names = tuple(axes)

    traced = program.trace(fn, axes, n_keys, seed)
    if path is not None and path.exists():
        done = store.load(path)
        store.check_same(path, done.attrs, axes, n_keys, seed, traced[1], store.coords_of(done))
        return done

    partial = store.partial_dir(path)
    meta = store.read_meta(partial) if partial is not None else None
    if meta is not None:
        store.check_same(path, meta, axes, n_keys, seed, traced[1], meta["grid"])
        if chunk is not None and -(-chunk // len(devices)) * len(devices) != meta["chunk"]:
            raise ValueError(
                f"Argument `chunk` ({chunk}) differs from the chunk size {meta['chunk']} of the interrupted sweep "
                f"in {partial}; pass chunk=None (or {meta['chunk']}) to resume bit for bit, or delete that folder."
            )
        chunk = meta["chunk"]
    # A resumed sweep keeps its recorded chunk (the item ranges of the finished files) even on
    # another device count; each call is then padded to a multiple of the devices.
    pl = planning.make_plan(fn, axes, n_keys, seed, chunk, devices, traced, measure=False, exact_chunk=meta is not None)
    out_dims = planning.check_out_dims(out_dims, pl.out_shape)

    if partial is not None and meta is None:
        meta = {
            "format": 1, "names": list(names), "grid": {n: a.tolist() for n, a in axes.items()},
            "n_keys": n_keys, "seed": seed, "chunk": pl.chunk, "fingerprint": pl.fingerprint,
            "out_shape": list(pl.out_shape), "out_dtype": pl.out_dtype,
        }
        store.write_meta(partial, meta)

    values = _run(fn, axes, n_keys, seed, pl, devices, partial, progress)
    shape = (*pl.shape, *((n_keys,) if n_keys else ()), *pl.out_shape)
    values = values.reshape(shape)
    da = store.to_dataarray(values, axes, n_keys, out_dims, pl, seed, len(devices), fn)
    if path is not None:
        store.save(path, da)
        shutil.rmtree(partial, ignore_errors=True)
    return da


def _item_columns(axes, n_keys, lo, hi):
    """Seed indices and the axis values of items ``lo..hi-1`` (NumPy, JAX dtypes)."""
    items = np.arange(lo, hi)
    n_seed = max(n_keys, 1)
    p, s = np.divmod(items, n_seed)
    idx = np.unravel_index(p, tuple(len(a) for a in axes.values()))
    cols = [a[i].astype(program.jax_dtype(a)) for a, i in zip(axes.values(), idx)]
    return [s.astype(np.int32), *cols]


def _run(fn, axes, n_keys, seed, pl: SweepPlan, devices, partial: Path | None, progress) -> np.ndarray:
    names = tuple(axes)
    mesh = program.mesh(devices)
    sharding = program.item_sharding(mesh)
    d = len(devices)
    call_size = -(-pl.chunk // d) * d
    runner = program.chunk_runner(fn, names, n_keys, seed, mesh)
    results = store.load_chunks(partial, pl.n_chunks)
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
    # calls (SVD) side by side: reproduced about one run in two, blocked with no CPU use. (That was
    # jaxlib's batched LAPACK waiting on its own thread pool, see program.per_device; kept
    # sequential, overlap not re-measured.)
    for j in todo:
        res, n = launch(j)
        arr = np.asarray(res)[:n]
        if partial is not None:
            store.save_chunk(partial, j, arr)
        results[j] = arr
        done_items += n
        if progress is not None:
            progress(done_items, pl.n_items)
    return np.concatenate(results, axis=0)
