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

Layout (one job per module; this package re-exports the public names)
----------------------------------------------------------------------
* :mod:`tnn.sweeps.program`: the one-point function, its tracing and fingerprint, the sharded
  chunk program.
* :mod:`tnn.sweeps.planning`: argument checks, memory estimates and the chunk plan
  (:func:`plan`, :class:`SweepPlan`).
* :mod:`tnn.sweeps.store`: the output path, the ``.partial/`` store of finished chunks, the
  ``DataArray`` and its files (:func:`save`, :func:`load`).
* :mod:`tnn.sweeps.run`: :func:`sweep` itself, the chunk loop with streaming and resuming.
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
