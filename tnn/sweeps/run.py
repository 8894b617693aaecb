"""Running a sweep: :func:`sweep` and its chunk loop, streaming to disk and resuming.

The arguments are checked and the plan made by :mod:`tnn.sweeps.planning`, the chunk program
compiled by :mod:`tnn.sweeps.program`, the values stored by :mod:`tnn.sweeps.store`; the
semantics (items, keys, chunks, devices, resuming) are in the :mod:`tnn.sweeps` docstring.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import jax

from tnn import results as tres
from tnn.sweeps import cluster, planning, program, store
from tnn.sweeps.planning import PointFn, ProgressFn, SweepPlan

__all__ = ["sweep"]


# ------------------------------------------------------------------------------------- sweep
def sweep(fn: PointFn, grid: Mapping[str, Any], *, n_keys: int = 0, seed: int = 0, out=None,
          chunk: int | None = None, devices: Sequence[jax.Device] | None = None,
          progress: ProgressFn | None = None, out_dims: Sequence[str] | None = None, distributed: bool = False):
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
      devices: the devices to shard over (default all local devices; must be None when distributed).
      progress: :class:`ProgressFn` called with ``(done, total)`` items (e.g. a tqdm's update); with
        ``distributed=True`` on process 0 only.
      out_dims: names of ``fn``'s output dimensions when it returns an array (default
        ``out_0, out_1, ...``).
      distributed: run as one process of a multi-process job (``jax.distributed``, started from the
        environment by :func:`tnn.sweeps.cluster.start` unless already started): every process
        calls :func:`sweep` with the same arguments, the chunks are split over the devices of all
        processes (``jax.devices()``), process 0 alone reads and writes ``out`` and its
        ``.partial/`` store, and every process returns the same array (the ``Across hosts``
        section of :mod:`tnn.sweeps`).

    Returns:
      ``xarray.DataArray`` of shape ``(*(len(v) for v in grid.values()), [n_keys], *out_shape)``,
      dims ``(*grid, ["seed"], *out_dims)``; ``attrs`` hold the plan (:class:`SweepPlan` fields).

    Raises:
      ValueError naming the argument: an empty grid, an axis that is not 1D or is empty, axes that
      do not match ``fn``'s arguments, ``fn`` that cannot be traced by ``jax.jit``, ``chunk`` < 1,
      an unwritable ``out``, or an ``out`` that holds a different sweep; with ``distributed=True``,
      an environment that names no cluster, or ``devices`` given (on every process alike).
    """
    if distributed:
        if devices is not None:
            raise ValueError("Argument `devices` must be None with distributed=True: the sweep uses every device of every process.")
        cluster.start()  # before anything below starts JAX
        devices = jax.devices()
    axes, n_keys, seed, chunk, devices = planning.check_args(fn, grid, n_keys, seed, chunk, devices)
    traced = program.trace(fn, axes, n_keys, seed)
    out_dims = planning.check_out_dims(out_dims, tuple(traced[0].shape))
    multi = distributed and jax.process_count() > 1
    lead = cluster.is_lead() or not multi

    # Process 0 alone looks at the files and decides (finished file, recorded chunk, stored chunks);
    # the others learn its decision, or its error, and the values it read.
    prep = err = None
    if lead:
        try:
            prep = _prepare(fn, axes, n_keys, seed, chunk, devices, traced, out)
        except ValueError as e:
            if not multi:
                raise
            err = str(e)
    if multi:
        prep = _share_prep(prep, err, axes, n_keys)
    path, partial, done, pl, results = prep
    if done is not None:
        return done

    if not lead:
        progress = None
    values = _run(fn, axes, n_keys, seed, pl, devices, results, partial if lead else None, progress)
    shape = (*pl.shape, *((n_keys,) if n_keys else ()), *pl.out_shape)
    values = values.reshape(shape)
    da = store.to_dataarray(values, axes, n_keys, out_dims, pl, seed, len(devices), fn,
                            n_processes=jax.process_count() if multi else 1)
    if path is not None and lead:
        store.save(path, da)
        shutil.rmtree(partial, ignore_errors=True)
    if multi:  # when sweep returns on any process, process 0 has written out
        cluster.barrier("tnn.sweeps.sweep")
    return da


def _prepare(fn, axes, n_keys, seed, chunk, devices, traced, out):
    """``(path, partial, finished DataArray or None, plan, stored chunks)``: the output checks, a
    finished ``out`` to return, or the plan and the chunks already in ``<out>.partial/``."""
    path = store.check_out(out)
    names = tuple(axes)
    if path is not None and path.exists():
        done = store.load(path)
        store.check_same(path, done.attrs, axes, n_keys, seed, traced[1], store.coords_of(done))
        return path, None, done, None, []

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

    if partial is not None and meta is None:
        meta = {
            "format": 1, "names": list(names), "grid": {n: a.tolist() for n, a in axes.items()},
            "n_keys": n_keys, "seed": seed, "chunk": pl.chunk, "fingerprint": pl.fingerprint,
            "out_shape": list(pl.out_shape), "out_dtype": pl.out_dtype,
        }
        store.write_meta(partial, meta)
    return path, partial, None, pl, store.load_chunks(partial, pl.n_chunks)


def _share_prep(prep, err, axes, n_keys):
    """Process 0's :func:`_prepare` on every process: its error (raised everywhere alike), the
    finished array, or the plan and the stored chunks' values (bit for bit)."""
    state = None
    if cluster.is_lead():
        path, partial, done, pl, results = prep if err is None else (None,) * 5
        state = {"error": err}
        if done is not None:
            state.update(finished=True, dims=list(done.dims), name=str(done.name), shape=list(done.shape),
                         dtype=str(done.dtype), attrs=tres.to_jsonable(dict(done.attrs)))
        elif err is None:
            state.update(finished=False, plan=tres.to_jsonable(dataclasses.asdict(pl)),
                         stored=[j for j, r in enumerate(results) if r is not None])
    state = cluster.share_json(state)
    if state["error"] is not None:
        raise ValueError(state["error"])
    if state["finished"]:
        values = cluster.share(done.values if cluster.is_lead() else None, tuple(state["shape"]), state["dtype"])
        if cluster.is_lead():
            return prep
        da = store.labelled(values, axes, n_keys, state["dims"], state["name"], state["attrs"])
        return None, None, da, None, []
    pl = SweepPlan(**{k: tuple(v) if isinstance(v, list) else v for k, v in state["plan"].items()})
    sizes = [min((j + 1) * pl.chunk, pl.n_items) - j * pl.chunk for j in state["stored"]]
    if cluster.is_lead():
        flat = [prep[4][j] for j in state["stored"]]
        flat = np.concatenate(flat, axis=0) if flat else np.zeros((0, *pl.out_shape), pl.out_dtype)
    else:
        flat = None
    flat = cluster.share(flat, (sum(sizes), *pl.out_shape), pl.out_dtype)
    if cluster.is_lead():
        return prep
    results = [None] * pl.n_chunks
    for j, part in zip(state["stored"], np.split(flat, np.cumsum(sizes)[:-1]) if sizes else []):
        results[j] = part
    return None, None, None, pl, results


def _item_columns(axes, n_keys, lo, hi):
    """Seed indices and the axis values of items ``lo..hi-1`` (NumPy, JAX dtypes)."""
    items = np.arange(lo, hi)
    n_seed = max(n_keys, 1)
    p, s = np.divmod(items, n_seed)
    idx = np.unravel_index(p, tuple(len(a) for a in axes.values()))
    cols = [a[i].astype(program.jax_dtype(a)) for a, i in zip(axes.values(), idx)]
    return [s.astype(np.int32), *cols]


def _run(fn, axes, n_keys, seed, pl: SweepPlan, devices, results: list, partial: Path | None, progress) -> np.ndarray:
    """The values of all items: ``results`` (the stored chunks, None where missing) completed, each
    new chunk written to ``partial`` (None: not written, as on processes other than 0)."""
    names = tuple(axes)
    mesh = program.mesh(devices)
    sharding = program.item_sharding(mesh)
    d = len(devices)
    call_size = -(-pl.chunk // d) * d
    runner = program.chunk_runner(fn, names, n_keys, seed, mesh)
    local = all(dev.process_index == jax.process_index() for dev in devices)
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
        if local:
            return runner(*(jax.device_put(c, sharding) for c in cols)), hi - lo
        # Every process holds the whole chunk's columns (computed alike); each puts its devices' slices.
        return runner(*(jax.make_array_from_callback(c.shape, sharding, c.__getitem__) for c in cols)), hi - lo

    # One chunk in flight at a time. Overlapping the next chunk's launch with this one's wait
    # deadlocked XLA's CPU runtime (jax 0.10.2) with 4 forced host devices running LAPACK custom
    # calls (SVD) side by side: reproduced about one run in two, blocked with no CPU use. (That was
    # jaxlib's batched LAPACK waiting on its own thread pool, see program.per_device; kept
    # sequential, overlap not re-measured.)
    for j in todo:
        res, n = launch(j)
        arr = cluster.gather(res)[:n]
        if partial is not None:
            store.save_chunk(partial, j, arr)
        results[j] = arr
        done_items += n
        if progress is not None:
            progress(done_items, pl.n_items)
    return np.concatenate(results, axis=0)
