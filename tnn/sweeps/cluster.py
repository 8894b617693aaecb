"""A sweep past one machine: ``jax.distributed`` from the environment, and what process 0 shares.

:func:`cluster_from_env` reads where the processes of a job meet (:class:`ClusterSpec`), in this
order, from the first source that is set:

1. ``TNN_COORDINATOR`` (``host:port`` of process 0's coordinator), ``TNN_NUM_PROCESSES``,
   ``TNN_PROCESS_ID``: all three, or none.
2. JAX's names: ``JAX_COORDINATOR_ADDRESS`` with ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID`` (JAX
   itself reads only the address; tnn reads the other two): all three. The address alone is
   JAX's override of a detected cluster's coordinator (3.), and passed on as such.
3. A cluster JAX detects itself (``jax.distributed.initialize()`` with no arguments): SLURM
   (``srun``: ``SLURM_JOB_ID``, ``SLURM_STEP_NODELIST``, ``SLURM_NTASKS``, ``SLURM_PROCID``,
   ``SLURM_LOCALID``) or Open MPI (``mpirun``: ``OMPI_MCA_orte_hnp_uri``).

None of them set is a ``ValueError`` that names them, raised before JAX starts. :func:`start` then
calls ``jax.distributed.initialize`` (nothing when the caller already did). That must come before
JAX runs anything in the process: ``jax.devices()``, an array, a compile.

On CPU the processes talk through gloo over TCP (JAX's default CPU collectives, 0.10.2 here); on
GPUs through NCCL. The sweep itself needs no collective (each device computes its own items);
:func:`share` (process 0's decisions and stored values to all) and :func:`gather` (every device's
values to every process) are the two that run.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Mapping

import numpy as np
import jax
from jax.experimental import multihost_utils

__all__ = ["TNN_ENV", "JAX_ENV", "SLURM_ENV", "OMPI_ENV", "ClusterSpec", "cluster_from_env", "start", "is_lead",
           "share", "share_json", "gather", "barrier"]

#: tnn's own names: coordinator ``host:port``, number of processes, this process' id (0-based)
TNN_ENV = ("TNN_COORDINATOR", "TNN_NUM_PROCESSES", "TNN_PROCESS_ID")
#: JAX's name for the address, and the same pattern for the other two
JAX_ENV = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")
#: the variables by which JAX recognizes a SLURM step (all present)
SLURM_ENV = ("SLURM_JOB_ID", "SLURM_STEP_NODELIST", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID")
#: the variable by which JAX recognizes an Open MPI launch
OMPI_ENV = ("OMPI_MCA_orte_hnp_uri",)


@dataclasses.dataclass(frozen=True)
class ClusterSpec:
    """Where the processes meet. ``source``: ``"TNN_*"``, ``"JAX_*"``, ``"slurm"`` or ``"ompi"``;
    for the last two the other fields are None and JAX reads the cluster's variables itself."""

    source: str
    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None


def _explicit(env: Mapping[str, str], names: tuple[str, str, str]) -> ClusterSpec:
    missing = [n for n in names if not env.get(n)]
    if missing:
        raise ValueError(
            f"Argument `distributed=True`: the environment sets {', '.join(n for n in names if n not in missing)} "
            f"but not {', '.join(missing)}; set all of {', '.join(names)}."
        )
    addr, n, i = (env[k].strip() for k in names)
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"Environment variable {names[0]} must be host:port of process 0's coordinator, got {addr!r}.")
    try:
        n_, i_ = int(n), int(i)
    except ValueError:
        raise ValueError(f"Environment variables {names[1]} and {names[2]} must be integers, got {n!r} and {i!r}.") from None
    if n_ < 1 or not 0 <= i_ < n_:
        raise ValueError(f"Environment variables {names[1]}={n_} and {names[2]}={i_} need 0 <= {names[2]} < {names[1]}.")
    return ClusterSpec(names[0].split("_")[0] + "_*", addr, n_, i_)


def cluster_from_env(environ: Mapping[str, str] | None = None) -> ClusterSpec:
    """The cluster this process belongs to, from ``environ`` (default ``os.environ``; see the module
    docstring for the order). Nothing set, or a partial or malformed set -> ``ValueError``."""
    env = os.environ if environ is None else environ
    if any(env.get(n) for n in TNN_ENV):
        return _explicit(env, TNN_ENV)
    if env.get(JAX_ENV[1]) or env.get(JAX_ENV[2]):
        return _explicit(env, JAX_ENV)
    if all(n in env for n in SLURM_ENV):
        return ClusterSpec("slurm")
    if all(n in env for n in OMPI_ENV):
        return ClusterSpec("ompi")
    raise ValueError(
        "Argument `distributed=True` (tnn sweep --distributed) needs the processes of a job to find each other, "
        f"but the environment names no cluster: set {', '.join(TNN_ENV)} (e.g. localhost:12345, 2, 0 and 1), "
        f"or {', '.join(JAX_ENV)}, or launch under SLURM (srun) or Open MPI (mpirun); "
        "or call jax.distributed.initialize() yourself first."
    )


def start(environ: Mapping[str, str] | None = None) -> ClusterSpec | None:
    """Initialize ``jax.distributed`` from the environment (None: it already was)."""
    if jax.distributed.is_initialized():
        return None
    spec = cluster_from_env(environ)
    try:
        jax.distributed.initialize(spec.coordinator, spec.num_processes, spec.process_id)
    except RuntimeError as err:
        raise RuntimeError(
            f"jax.distributed.initialize() failed ({err}). A distributed sweep must start JAX: call it before "
            "anything in the process runs JAX (jax.devices(), an array, a jit), or call "
            "jax.distributed.initialize() yourself first."
        ) from err
    return spec


def is_lead() -> bool:
    """Whether this is process 0, the one that reads and writes the files."""
    return jax.process_index() == 0


def share(x: np.ndarray | None, shape: tuple[int, ...], dtype) -> np.ndarray:
    """Process 0's array ``x`` (of ``shape`` and ``dtype``) on every process, bit for bit.

    ``broadcast_one_to_all`` is a sum in which the other processes add zeros: the array travels
    as its bytes, so that ``-0.0`` and NaN payloads arrive unchanged."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if is_lead():
        raw = np.frombuffer(np.ascontiguousarray(x, dtype=dtype).tobytes(), np.uint8)
    else:
        raw = np.zeros(nbytes, np.uint8)
    if jax.process_count() > 1 and nbytes:
        raw = np.asarray(multihost_utils.broadcast_one_to_all(raw))
    return np.frombuffer(raw.tobytes(), dtype).reshape(shape).copy()


def share_json(obj: Any) -> Any:
    """Process 0's JSON-able ``obj`` on every process (the others pass anything, e.g. None)."""
    data = json.dumps(obj).encode() if is_lead() else b""
    n = int(share(np.array([len(data)], np.int32), (1,), np.int32)[0])
    raw = share(np.frombuffer(data, np.uint8) if is_lead() else None, (n,), np.uint8)
    return json.loads(raw.tobytes().decode())


def gather(arr: jax.Array) -> np.ndarray:
    """A sharded array whole on every process (an all-gather: copies, no arithmetic)."""
    if arr.is_fully_addressable:
        return np.asarray(arr)
    return np.asarray(multihost_utils.process_allgather(arr, tiled=True))


def barrier(name: str) -> None:
    """Wait until every process gets here (no-op in one process)."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)
