r"""Parameter sweeps: one jittable function over a product grid and disorder seeds, on all devices.

Write the function for **one** point (STYLE: batchless, traced parameters, static geometry) and let
:func:`sweep` evaluate it over the product of 1D grids, ``n_keys`` disorder keys per grid point,
chunked to fit in memory, sharded over the local devices (or every process' devices,
``distributed=True``), streamed to disk and resumable::

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
* **Chunks.** Items are evaluated ``chunk`` at a time by one compiled program (``jax.vmap`` of
  ``fn`` on accelerators; on CPU ``jax.lax.map``, one item after another, see **Devices**); the
  last chunk is padded (with its last item) so one compilation serves all. With ``chunk=None`` the
  size comes from a trial compile of one point (``jax.jit(...).lower(...).compile()
  .memory_analysis()``: argument + output + temporary bytes) against a budget of a quarter of the
  free memory (host RAM on CPU, device memory on accelerators), at most
  :data:`MAX_CHUNK_PER_DEVICE` items per device.
* **Devices.** Each chunk is split evenly over ``devices`` (default ``jax.local_devices()``) by
  ``jax.shard_map`` on a 1D mesh; every device runs the same program on its slice. On CPU the
  values do not depend on the chunk size or the device count, bit for bit (each item is computed
  alone). On accelerators they do not when each device gets the same vmapped batch (``chunk /
  n_dev`` items): 4 devices with ``chunk=16`` give the bits of 1 device with ``chunk=4``; other
  batch sizes agree to rounding (a kernel may round a batch of 4 and one of 16 differently). On a
  CPU host, several devices exist only when asked for before JAX starts:
  ``XLA_FLAGS=--xla_force_host_platform_device_count=4`` or
  ``jax.config.update("jax_num_cpu_devices", 4)``; forced host devices cannot beat the real cores,
  so ask for as many as there are cores. Why CPU maps items one at a time: jaxlib 0.9.1-0.11.0 runs a
  batched LAPACK call (SVD, eigh, ...) as tasks on XLA:CPU's intra-op thread pool and blocks
  until they finish; with as many forced host devices as cores, every pool thread could block so
  and the process hung forever with no CPU use (a vmapped sweep of a keyed SSH builder and an SVD
  on 2 devices, 2 cores: every run). That is jaxlib's, not ``fn``'s: plain JAX hangs the same way
  (:func:`tnn.sweeps.program.per_device` has the details). A batch of one never leaves its
  thread, so a sweep cannot hang there, with any jaxlib (unless ``fn`` itself batches LAPACK
  calls). A ``jax.jit(jax.vmap(fn))`` of your own, sharded over forced host devices, still can on
  those jaxlib versions: use :func:`sweep`, or ``jax.lax.map``, or jaxlib >= 0.11.1.
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
With ``distributed=True`` (``tnn sweep --distributed``) one sweep runs on the devices of every
process of a job. Run the same script (or command) in every process, e.g. ``srun -n 4 python
script.py`` under SLURM, or two local processes with ``TNN_COORDINATOR=localhost:12355
TNN_NUM_PROCESSES=2 TNN_PROCESS_ID=0`` (and ``=1``)::

    da = sweeps.sweep(fn, grid, n_keys=32, seed=0, out="results/ssh.nc", distributed=True)

* **Joining.** :func:`tnn.sweeps.cluster.start` calls ``jax.distributed.initialize`` from the
  environment (``TNN_COORDINATOR``, ``TNN_NUM_PROCESSES``, ``TNN_PROCESS_ID``; else JAX's
  ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``, ``JAX_PROCESS_ID``; else SLURM or Open MPI as
  JAX detects them), unless the script already did. None set is a ``ValueError`` naming them,
  before any work. It must come before the process runs anything on JAX.
* **Work.** Each chunk is split over ``jax.devices()`` (all processes' devices, a 1D mesh); every
  process builds the same chunk columns and puts its devices' slices
  (``jax.make_array_from_callback``), the values come back to every process by an all-gather
  (``multihost_utils.process_allgather``). The program has no collective of its own.
* **Files.** Process 0 alone reads and writes ``out`` and ``<out>.partial/`` (atomically, as above);
  it decides what is done (a finished ``out``, the recorded chunk, the stored chunks) and sends that
  decision, its values and any error (raised by every process alike) to the others
  (``multihost_utils.broadcast_one_to_all`` of the bytes, so NaN and ``-0.0`` arrive unchanged).
  ``out`` need not be on a shared file system. A killed job resumes when all processes run again.
* **Result.** Every process returns the same ``DataArray`` (``attrs["n_processes"]``, and
  ``n_devices`` counts all processes' devices); ``progress`` is called on process 0 only; when
  :func:`sweep` returns anywhere, process 0 has written ``out``. On CPU the values equal a
  one-process sweep bit for bit (each item is computed alone; tested with two local processes,
  fresh and resumed). On accelerators (not tested here) the Devices rule above applies, with the
  devices of all processes.

Without ``distributed``, :func:`sweep` shards over the devices of its own process only, even after
``jax.distributed.initialize``: each process then sweeps (and writes) on its own, e.g. its own
slice of the first axis, to be joined with ``xarray.concat`` (same ``seed``: same keys).

Layout (one job per module; this package re-exports the public names)
----------------------------------------------------------------------
* :mod:`tnn.sweeps.program`: the one-point function, its tracing and fingerprint, the sharded
  chunk program.
* :mod:`tnn.sweeps.planning`: argument checks, memory estimates and the chunk plan
  (:func:`plan`, :class:`SweepPlan`).
* :mod:`tnn.sweeps.store`: the output path, the ``.partial/`` store of finished chunks, the
  ``DataArray`` and its files (:func:`save`, :func:`load`).
* :mod:`tnn.sweeps.run`: :func:`sweep` itself, the chunk loop with streaming and resuming.
* :mod:`tnn.sweeps.cluster`: ``jax.distributed`` from the environment, and what process 0 shares.
* :mod:`tnn.sweeps.stats`: :func:`disorder_stats`, :func:`seeds_needed`.
* :mod:`tnn.sweeps.presets`: the ``tnn sweep`` presets of the systems, run and drawn. It sits on the
  modules above and is not imported here (no system, no matplotlib with ``import tnn.sweeps``).
"""

from tnn.sweeps.planning import MAX_CHUNK_PER_DEVICE, MEMORY_FRACTION, PointFn, ProgressFn, SweepPlan, plan
from tnn.sweeps.run import sweep
from tnn.sweeps.stats import disorder_stats, seeds_needed
from tnn.sweeps.store import load, save

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
