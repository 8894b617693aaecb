"""tnn.sweeps across processes (``sweep(..., distributed=True)``, ``tnn sweep --distributed``).

Two local processes on CPU, one host device each, meet at ``localhost:<free port>``
(``TNN_COORDINATOR``, ``TNN_NUM_PROCESSES``, ``TNN_PROCESS_ID``) and talk through gloo, JAX's
default CPU collectives. The sweep is a disordered SSH winding number; on CPU each item is
computed alone (``jax.lax.map``) and the values travel as bytes (all-gather, byte broadcast), so the
two-process array equals the one-process one bit for bit, NaN included.
"""

import os
import socket
import subprocess
import sys
import json
import textwrap
import time

import numpy as np
import jax.numpy as jnp
import pytest

from tnn import hamiltonians, invariants, lattice, sweeps
from tnn.sweeps import cluster

LAT = lattice.chain(16, pbc=True)
GRID = {"v": np.array([0.4, 1.0, 1.6]), "w": np.array([1.0]), "Wb": np.array([0.0, 1.0])}
N_KEYS, SEED, CHUNK = 2, 3, 4  # 12 items: chunks of 4 items, 2 per device


def ssh(v, w, Wb, key):
    return invariants.winding_number(hamiltonians.ssh(jnp.stack([v, w]), LAT, bond_disorder=Wb, key=key), LAT)


_WORKER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import jax.numpy as jnp
    import tnn
    from tnn import hamiltonians, invariants, lattice, sweeps
    tnn.enable_x64()
    LAT = lattice.chain(16, pbc=True)
    GRID = {"v": np.array([0.4, 1.0, 1.6]), "w": np.array([1.0]), "Wb": np.array([0.0, 1.0])}

    def ssh(v, w, Wb, key):
        return invariants.winding_number(hamiltonians.ssh(jnp.stack([v, w]), LAT, bond_disorder=Wb, key=key), LAT)

    tmp, pid = sys.argv[1], sys.argv[2]
    seen = []
    fresh = sweeps.sweep(ssh, GRID, n_keys=2, seed=3, chunk=4, out=f"{tmp}/fresh.nc", distributed=True)
    again = sweeps.sweep(ssh, GRID, n_keys=2, seed=3, out=f"{tmp}/fresh.nc", distributed=True)  # finished: loaded
    resumed = sweeps.sweep(ssh, GRID, n_keys=2, seed=3, out=f"{tmp}/resumed.nc", distributed=True,
                           progress=lambda d, t: seen.append(d))
    try:
        sweeps.sweep(ssh, GRID, n_keys=2, seed=4, out=f"{tmp}/fresh.nc", distributed=True)
        error = None
    except ValueError as err:
        error = str(err)
    np.savez(f"{tmp}/ret{pid}.npz", fresh=fresh.values, again=again.values, resumed=resumed.values)
    with open(f"{tmp}/ret{pid}.json", "w") as f:
        json.dump({"seen": seen, "error": error, "attrs": {k: str(v) for k, v in resumed.attrs.items()},
                   "dims": list(resumed.dims)}, f)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _no_cluster_env(monkeypatch):
    for name in (*cluster.TNN_ENV, *cluster.JAX_ENV, *cluster.SLURM_ENV, *cluster.OMPI_ENV):
        monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------------------- environment
def test_cluster_from_env_reads_tnn_then_jax_then_slurm_and_ompi():
    spec = cluster.cluster_from_env({"TNN_COORDINATOR": "node1:1234", "TNN_NUM_PROCESSES": "4", "TNN_PROCESS_ID": "3",
                                     "JAX_NUM_PROCESSES": "9"})
    assert spec == cluster.ClusterSpec("TNN_*", "node1:1234", 4, 3)
    spec = cluster.cluster_from_env({"JAX_COORDINATOR_ADDRESS": "10.0.0.1:99", "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "0"})
    assert spec == cluster.ClusterSpec("JAX_*", "10.0.0.1:99", 2, 0)
    slurm = {n: "1" for n in cluster.SLURM_ENV}
    assert cluster.cluster_from_env(slurm) == cluster.ClusterSpec("slurm")
    assert cluster.cluster_from_env({**slurm, "JAX_COORDINATOR_ADDRESS": "h:1"}).source == "slurm"  # JAX's override
    assert cluster.cluster_from_env({"OMPI_MCA_orte_hnp_uri": "x"}).source == "ompi"


@pytest.mark.parametrize("env, match", [
    ({}, "distributed=True.*TNN_COORDINATOR, TNN_NUM_PROCESSES, TNN_PROCESS_ID.*SLURM"),
    ({"JAX_COORDINATOR_ADDRESS": "h:1"}, "names no cluster"),
    ({"TNN_COORDINATOR": "h:1", "TNN_NUM_PROCESSES": "2"}, "not TNN_PROCESS_ID"),
    ({"JAX_PROCESS_ID": "0"}, "not JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES"),
    ({"TNN_COORDINATOR": "nohost", "TNN_NUM_PROCESSES": "2", "TNN_PROCESS_ID": "0"}, "TNN_COORDINATOR must be host:port"),
    ({"TNN_COORDINATOR": "h:1", "TNN_NUM_PROCESSES": "two", "TNN_PROCESS_ID": "0"}, "must be integers"),
    ({"TNN_COORDINATOR": "h:1", "TNN_NUM_PROCESSES": "2", "TNN_PROCESS_ID": "2"}, "0 <= TNN_PROCESS_ID < TNN_NUM_PROCESSES"),
])
def test_bad_cluster_env_is_a_value_error_naming_it(env, match):
    with pytest.raises(ValueError, match=match):
        cluster.cluster_from_env(env)


def test_distributed_sweep_without_env_or_with_devices_fails_before_any_work(monkeypatch, tmp_path):
    _no_cluster_env(monkeypatch)
    out = tmp_path / "x.nc"
    with pytest.raises(ValueError, match="distributed=True.*names no cluster"):
        sweeps.sweep(ssh, GRID, n_keys=N_KEYS, out=out, distributed=True)
    with pytest.raises(ValueError, match="Argument `devices` must be None with distributed=True"):
        sweeps.sweep(ssh, GRID, n_keys=N_KEYS, out=out, devices=[], distributed=True)
    assert not list(tmp_path.iterdir())  # nothing written, JAX's distributed client not started
    import jax

    assert not jax.distributed.is_initialized()


# ---------------------------------------------------------------------------- two processes
class _Killed(Exception):
    pass


def test_two_processes_equal_one_bit_for_bit_and_resume(tmp_path):
    ref = sweeps.sweep(ssh, GRID, n_keys=N_KEYS, seed=SEED, chunk=CHUNK)
    assert np.isnan(ref.values).any() and np.isfinite(ref.values).any()  # v = w = 1 is gapless: NaN kept

    def die_after_one_chunk(done, total):
        if done >= CHUNK:
            raise _Killed

    with pytest.raises(_Killed):  # a partial store of one chunk (4 items), as a killed run leaves it
        sweeps.sweep(ssh, GRID, n_keys=N_KEYS, seed=SEED, chunk=CHUNK, out=tmp_path / "resumed.nc",
                     progress=die_after_one_chunk)
    assert [p.name for p in (tmp_path / "resumed.nc.partial").glob("chunk_*")] == ["chunk_000000.npy"]

    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    port = _free_port()
    t0 = time.perf_counter()
    procs = []
    for pid in range(2):
        env = dict(os.environ, TNN_COORDINATOR=f"localhost:{port}", TNN_NUM_PROCESSES="2", TNN_PROCESS_ID=str(pid),
                   XLA_FLAGS="--xla_force_host_platform_device_count=1", OPENBLAS_NUM_THREADS="1")
        procs.append(subprocess.Popen([sys.executable, str(script), str(tmp_path), str(pid)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    try:
        logs = [p.communicate(timeout=120)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    seconds = time.perf_counter() - t0
    assert [p.returncode for p in procs] == [0, 0], "\n".join(logs)[-4000:]
    print(f"two processes: {seconds:.1f} s")

    for name in ("fresh.nc", "resumed.nc"):  # process 0 wrote them, the partial store is gone
        np.testing.assert_array_equal(sweeps.load(tmp_path / name).values, ref.values, strict=True)
        assert not (tmp_path / f"{name}.partial").exists()
    for pid in range(2):  # every process returns the same array
        with np.load(tmp_path / f"ret{pid}.npz") as ret:
            for k in ("fresh", "again", "resumed"):
                np.testing.assert_array_equal(ret[k], ref.values, strict=True)
        info = json.loads((tmp_path / f"ret{pid}.json").read_text())
        assert info["dims"] == ["v", "w", "Wb", "seed"]
        assert info["attrs"]["n_devices"] == "2" and info["attrs"]["n_processes"] == "2"
        assert info["attrs"]["chunk"] == str(CHUNK)  # the recorded chunk of the partial store
        assert "holds a different sweep" in info["error"] and "seed" in info["error"]  # raised on both
    assert json.loads((tmp_path / "ret0.json").read_text())["seen"] == [4, 8, 12]  # resumed after the stored chunk
    assert json.loads((tmp_path / "ret1.json").read_text())["seen"] == []  # progress on process 0 only


# ---------------------------------------------------------------------------- tnn sweep --distributed
def test_cli_distributed_without_env_is_one_error_line(monkeypatch, tmp_path, capsys):
    from tnn import cli

    _no_cluster_env(monkeypatch)
    rc = cli.main(["sweep", "ssh-vw", "--quick", "--distributed", "--out", str(tmp_path / "s"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "tnn sweep: error:" in err and "TNN_COORDINATOR" in err and "Traceback" not in err
    assert not (tmp_path / "s" / "sweep.nc").exists()


@pytest.mark.slow
def test_cli_two_processes_write_what_one_writes(tmp_path):
    """``tnn sweep ssh-disorder --distributed`` in two local processes (about 30 s on 2 cores)."""
    argv = ["sweep", "ssh-disorder", "--size", "16", "--points", "3", "--n-keys", "2", "--chunk", "4", "--no-progress"]
    tnn_cmd = [sys.executable, "-m", "tnn.cli"]
    one = subprocess.run([*tnn_cmd, *argv, "--out", str(tmp_path / "one")], capture_output=True, text=True, timeout=240)
    assert one.returncode == 0, one.stderr
    port = _free_port()
    procs = [subprocess.Popen([*tnn_cmd, *argv, "--distributed", "--out", str(tmp_path / "two")],
                              env=dict(os.environ, TNN_COORDINATOR=f"localhost:{port}", TNN_NUM_PROCESSES="2",
                                       TNN_PROCESS_ID=str(pid), XLA_FLAGS="--xla_force_host_platform_device_count=1"),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for pid in range(2)]
    try:
        logs = [p.communicate(timeout=240)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], "\n".join(logs)[-4000:]
    assert "of 2 processes" in logs[0] and "points on" not in logs[1]  # process 0 reports
    a, b = sweeps.load(tmp_path / "one" / "sweep.nc"), sweeps.load(tmp_path / "two" / "sweep.nc")
    np.testing.assert_array_equal(b.values, a.values, strict=True)
    assert b.attrs["n_processes"] == 2 and b.attrs["n_devices"] == 2
    cfg = json.loads((tmp_path / "two" / "config.json").read_text())
    assert cfg["n_processes"] == 2 and (tmp_path / "two" / "phase_diagram.png").exists()
