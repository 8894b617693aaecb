"""tnn.sweeps: grids, keys, sharding, streaming and resuming, statistics, input checks.

Physics checks (k space, PHYSICS conventions): SSH ``q(k) = v + w e^{ik}`` winds once around 0 for
``|w| > |v|`` and not at all for ``|w| < |v|``; QWZ has ``C = +1`` for ``-2 < m < 0``, ``-1`` for
``0 < m < 2``, ``0`` for ``|m| > 2``. At ``v = w`` (periodic chain with an even number of cells,
``k = pi`` on the grid) and at ``m = 0`` (periodic even square, ``k = (0, pi)`` on the grid) the
finite sample is exactly gapless and the value must be NaN.
"""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import jax
import jax.numpy as jnp
import jaxlib
import pytest

from tnn import hamiltonians, invariants, kspace, lattice, sweeps

L_SSH = 40
SSH_PBC = lattice.chain(L_SSH, pbc=True)
QWZ_PBC = lattice.square(8, 8, pbc=True)


def ssh_winding(v, w):
    return invariants.winding_number(hamiltonians.ssh(jnp.stack([v, w]), SSH_PBC), SSH_PBC)


def ssh_disordered(w, Wb, key):
    t = jnp.stack([jnp.ones_like(w), w])
    return invariants.winding_number(hamiltonians.ssh(t, SSH_PBC, bond_disorder=Wb, key=key), SSH_PBC)


def qwz_bott(m):
    return invariants.bott_index(hamiltonians.qwz(m, QWZ_PBC), QWZ_PBC)


def _ssh_kspace(v, w):
    try:
        return kspace.winding_number((float(v), float(w)))
    except kspace.GaplessError:
        return None


def test_clean_ssh_grid_equals_kspace_away_from_boundary():
    vs = np.linspace(-2.0, 2.0, 9)
    ws = np.array([0.25, 0.75, 1.0, 1.5, 2.0])
    da = sweeps.sweep(ssh_winding, {"v": vs, "w": ws}, chunk=16)
    assert da.dims == ("v", "w") and da.shape == (9, 5)
    np.testing.assert_array_equal(da.coords["v"].values, vs)
    np.testing.assert_array_equal(da.coords["w"].values, ws)
    checked = 0
    for i, v in enumerate(vs):
        for j, w in enumerate(ws):
            ref = _ssh_kspace(v, w)
            # Away from |v| = |w|: the finite-size error ~ (small/large)^L is below 1e-8 there.
            if ref is not None and min(abs(v), abs(w)) <= 0.6 * max(abs(v), abs(w)):
                assert abs(float(da.values[i, j]) - ref) < 1e-6, (v, w)
                checked += 1
            if abs(v) == abs(w):  # exactly gapless on the even periodic chain
                assert np.isnan(da.values[i, j]), (v, w, da.values[i, j])
    assert checked >= 20
    # Both phases present.
    assert {0, 1} <= set(np.rint(da.values[np.isfinite(da.values)]).astype(int).tolist())


def test_clean_qwz_grid_equals_kspace_and_marks_gapless_points():
    ms = np.linspace(-3.0, 3.0, 13)  # contains m = -2, 0, 2 exactly
    da = sweeps.sweep(qwz_bott, {"m": ms})
    # 8 x 8 certifies only samples whose correlation length is short against 2 cells (tnn.validity):
    # every certified value equals k space, and the deep ones are certified.
    for m, b in zip(ms, da.values):
        if np.isfinite(b):
            assert abs(b - kspace.chern_number("qwz", {"m": float(m)})) < 1e-6, (m, b)
        if abs(m) >= 2.9:
            assert np.isfinite(b), m
    # m = 0 closes the gap at (0, pi) and (pi, 0), both on the 8 x 8 grid: marked, never an integer.
    b0 = da.sel(m=0.0).item()
    assert np.isnan(b0), b0


def test_keys_dims_and_common_random_numbers():
    grid = {"w": np.array([0.5, 1.6]), "Wb": np.array([0.0, 0.5])}
    da = sweeps.sweep(ssh_disordered, grid, n_keys=3, seed=7, chunk=5)
    assert da.dims == ("w", "Wb", "seed") and da.shape == (2, 2, 3)
    np.testing.assert_array_equal(da.coords["seed"].values, [0, 1, 2])
    assert da.attrs["seed"] == 7 and da.attrs["n_keys"] == 3 and da.attrs["chunk"] == 5
    # Item (w=1.6, Wb=0.5, s=2) is fn(..., key=fold_in(key(7), 2)) (unbatched here: equal to rounding).
    ref = ssh_disordered(jnp.asarray(1.6), jnp.asarray(0.5), jax.random.fold_in(jax.random.key(7), 2))
    assert da.values[1, 1, 2] == pytest.approx(float(ref), abs=1e-12)
    # Weak chiral disorder keeps the phase; the clean column does not depend on the key.
    np.testing.assert_allclose(da.values[1, 1], 1.0, atol=1e-3)
    np.testing.assert_allclose(da.values[0, 1], 0.0, atol=1e-3)
    assert np.all(da.values[:, 0, :] == da.values[:, 0, :1])
    # More seeds extend fewer: the first three keys are the same (values equal to rounding only:
    # another chunk size is another vmapped batch, and XLA's kernels may round differently).
    more = sweeps.sweep(ssh_disordered, grid, n_keys=4, seed=7, chunk=8)
    np.testing.assert_allclose(more.values[..., :3], da.values, rtol=0, atol=1e-12)


def test_array_output_and_out_dims():
    def spectrum_edges(m):
        E = jnp.linalg.eigvalsh(hamiltonians.qwz(m, QWZ_PBC))
        return jnp.stack([E[0], E[-1]])

    da = sweeps.sweep(spectrum_edges, {"m": [0.5, 3.0]}, out_dims=["edge"])
    assert da.dims == ("m", "edge") and da.shape == (2, 2)
    assert da.values[1, 0] == pytest.approx(-5.0) and da.values[1, 1] == pytest.approx(5.0)


@pytest.mark.parametrize("suffix", [".nc", ".npz"])
def test_out_roundtrip_and_reuse(tmp_path, suffix):
    out = tmp_path / f"ssh{suffix}"
    grid = {"v": np.array([0.5, 1.0, 1.5]), "w": np.array([1.0])}
    da = sweeps.sweep(ssh_winding, grid, out=out, chunk=2)
    assert out.exists() and not (tmp_path / f"ssh{suffix}.partial").exists()
    back = sweeps.load(out)
    assert back.dims == da.dims and back.attrs["fingerprint"] == da.attrs["fingerprint"]
    np.testing.assert_array_equal(back.values, da.values)  # NaN at v = w survives the file
    assert np.isnan(back.sel(v=1.0, w=1.0).item())
    # A second call with the same arguments loads the file instead of recomputing.
    calls = []
    again = sweeps.sweep(ssh_winding, grid, out=out, chunk=2, progress=lambda d, t: calls.append(d))
    np.testing.assert_array_equal(again.values, da.values)
    assert calls == []
    # The same path with another sweep is refused, naming `out`.
    sweeps.sweep(ssh_disordered, {"w": [1.0], "Wb": [0.1]}, n_keys=2, seed=1, out=tmp_path / "d.nc")
    with pytest.raises(ValueError, match="`out`.*seed"):
        sweeps.sweep(ssh_disordered, {"w": [1.0], "Wb": [0.1]}, n_keys=2, seed=2, out=tmp_path / "d.nc")


class _Killed(Exception):
    pass


def test_interrupted_sweep_resumes_bit_for_bit(tmp_path):
    grid = {"w": np.linspace(0.3, 1.9, 5), "Wb": np.array([0.0, 1.0])}
    full = sweeps.sweep(ssh_disordered, grid, n_keys=3, seed=3, chunk=4)

    out = tmp_path / "run.nc"

    def die_after_two_chunks(done, total):
        if done >= 8:
            raise _Killed

    with pytest.raises(_Killed):
        sweeps.sweep(ssh_disordered, grid, n_keys=3, seed=3, chunk=4, out=out, progress=die_after_two_chunks)
    partial = tmp_path / "run.nc.partial"
    assert not out.exists()
    assert sorted(p.name for p in partial.glob("chunk_*.npy")) == ["chunk_000000.npy", "chunk_000001.npy"]
    seen = []
    res = sweeps.sweep(ssh_disordered, grid, n_keys=3, seed=3, out=out, progress=lambda d, t: seen.append(d))
    assert seen[0] == 8 and seen[-1] == 30  # started from the two saved chunks
    assert res.attrs["chunk"] == 4  # the recorded chunk, not a new estimate
    np.testing.assert_array_equal(res.values, full.values)
    np.testing.assert_array_equal(sweeps.load(out).values, full.values)
    assert not partial.exists()


_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    import jax, jax.numpy as jnp
    import tnn
    from tnn import hamiltonians, invariants, lattice, sweeps
    tnn.enable_x64()
    lat = lattice.chain(24, pbc=True)

    def fn(w, Wb, key):
        t = jnp.stack([jnp.ones_like(w), w])
        return invariants.winding_number(hamiltonians.ssh(t, lat, bond_disorder=Wb, key=key), lat)

    grid = {"w": np.linspace(0.3, 1.9, 6), "Wb": np.array([0.0, 1.5])}
    mode, out = sys.argv[1], sys.argv[2]
    if mode == "kill":
        def progress(done, total):
            if done >= 12:
                os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no exception handlers
        sweeps.sweep(fn, grid, n_keys=2, seed=5, chunk=4, out=out, progress=progress)
    else:
        sweeps.sweep(fn, grid, n_keys=2, seed=5, out=out)
    """
)


def _child(tmp_path, *args, env=None):
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True, timeout=240)


def test_sigkilled_sweep_resumes_in_a_new_process(tmp_path):
    out = tmp_path / "k.nc"
    killed = _child(tmp_path, "kill", str(out))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not out.exists() and len(list((tmp_path / "k.nc.partial").glob("chunk_*.npy"))) == 3
    resumed = _child(tmp_path, "resume", str(out))
    assert resumed.returncode == 0, resumed.stderr
    # The uninterrupted reference, here in-process: the same function and chunk, the same bits.
    lat = lattice.chain(24, pbc=True)

    def fn(w, Wb, key):
        t = jnp.stack([jnp.ones_like(w), w])
        return invariants.winding_number(hamiltonians.ssh(t, lat, bond_disorder=Wb, key=key), lat)

    ref = sweeps.sweep(fn, {"w": np.linspace(0.3, 1.9, 6), "Wb": np.array([0.0, 1.5])}, n_keys=2, seed=5, chunk=4)
    np.testing.assert_array_equal(sweeps.load(out).values, ref.values)


_SHARDED = textwrap.dedent(
    """
    import numpy as np
    import jax, jax.numpy as jnp
    import tnn
    from tnn import hamiltonians, invariants, lattice, sweeps
    tnn.enable_x64()
    assert len(jax.local_devices()) == 4, jax.local_devices()
    lat = lattice.chain(24, pbc=True)

    def fn(w, Wb, key):
        t = jnp.stack([jnp.ones_like(w), w])
        return invariants.winding_number(hamiltonians.ssh(t, lat, bond_disorder=Wb, key=key), lat)

    grid = {"w": np.linspace(0.2, 1.8, 7), "Wb": np.array([0.0, 1.0, 2.0])}
    one_dev = jax.local_devices()[:1]
    many = sweeps.sweep(fn, grid, n_keys=3, seed=1, chunk=16)
    one = sweeps.sweep(fn, grid, n_keys=3, seed=1, chunk=4, devices=one_dev)
    assert many.attrs["n_devices"] == 4 and one.attrs["n_devices"] == 1, (many.attrs, one.attrs)
    np.testing.assert_array_equal(many.values, one.values)
    # On CPU every item is computed alone (lax.map): any split gives the same bits.
    auto = sweeps.sweep(fn, grid, n_keys=3, seed=1)
    big = sweeps.sweep(fn, grid, n_keys=3, seed=1, chunk=16, devices=one_dev)
    assert auto.attrs["n_devices"] == 4 and auto.attrs["chunk"] % 4 == 0
    np.testing.assert_array_equal(auto.values, one.values)
    np.testing.assert_array_equal(big.values, one.values)
    assert np.isfinite(one.values).sum() > 30
    print("OK", many.attrs["chunk"], auto.attrs["chunk"])
    """
)


def _run_forced_devices(tmp_path, name: str, source: str, n_devices: int, timeout: float):
    """``source`` in a fresh process with ``n_devices`` forced host devices; a hang fails the test
    after ``timeout`` seconds (with the child's Python stacks, from faulthandler)."""
    script = tmp_path / f"{name}.py"
    script.write_text(f"import faulthandler\nfaulthandler.dump_traceback_later({timeout - 5}, exit=True)\n" + source)
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n_devices}")
    r = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_sharded_on_four_host_devices_equals_single_device(tmp_path):
    """4 forced host devices on the 2-core machine. Before the sweep mapped items one at a time on CPU
    (tnn.sweeps.program.per_device) this wedged in about half of the runs (jaxlib 0.10.2's batched
    LAPACK waiting on its own thread pool) and ran only on purpose, marked slow."""
    out = _run_forced_devices(tmp_path, "sharded", _SHARDED, 4, timeout=120)
    assert out.startswith("OK 16 ")


# Issue 22, item 5: a keyed builder followed by an SVD, 16 items over 2 forced host devices, hung
# every time (jaxlib 0.10.2, 2 cores). The same items through sweeps.sweep on 2 devices and on 1.
_KEYED_SVD = textwrap.dedent(
    """
    import numpy as np
    import jax, jax.numpy as jnp
    import tnn
    from tnn import sweeps
    tnn.enable_x64()
    assert len(jax.local_devices()) == 2, jax.local_devices()
    lat = tnn.lattice.chain(61, pbc=True)

    def fn(v, w, key):
        H = tnn.hamiltonians.ssh(jnp.stack([v, w]), lat, bond_disorder=0.3, key=key)
        return jnp.linalg.svd(H[0::2, 1::2])[1].sum()

    grid = {"v": np.linspace(0.2, 1.8, 8), "w": np.array([1.0])}
    two = sweeps.sweep(fn, grid, n_keys=2, seed=5, chunk=16)
    one = sweeps.sweep(fn, grid, n_keys=2, seed=5, chunk=16, devices=jax.local_devices()[:1])
    assert two.attrs["n_devices"] == 2 and one.attrs["n_devices"] == 1, (two.attrs, one.attrs)
    np.testing.assert_array_equal(two.values, one.values)
    # Item (v, s) is the reproduction's fn(s, v, w): key = fold_in(key(5), s).
    s = np.tile(np.arange(2, dtype=np.int32), 8)
    v = np.repeat(grid["v"], 2)
    ref = jax.jit(jax.vmap(lambda s, v: fn(v, 1.0, jax.random.fold_in(jax.random.key(5), s))))(s, v)
    np.testing.assert_allclose(two.values.reshape(-1), np.asarray(ref), rtol=0, atol=1e-12)
    print("OK")
    """
)

# The reproduction as written: the user's own jit(vmap) with sharded inputs and outputs.
_KEYED_SVD_JIT = textwrap.dedent(
    """
    import numpy as np
    import jax, jax.numpy as jnp, tnn
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    tnn.enable_x64()
    assert len(jax.devices()) == 2, jax.devices()
    mesh = Mesh(jax.devices(), ("d",))
    lat = tnn.lattice.chain(61, pbc=True)

    def fn(s, v, w):
        key = jax.random.fold_in(jax.random.key(5), s)
        H = tnn.hamiltonians.ssh(jnp.stack([v, w]), lat, bond_disorder=0.3, key=key)
        return jnp.linalg.svd(H[0::2, 1::2])[1].sum()

    sh = NamedSharding(mesh, P("d"))
    g = jax.jit(jax.vmap(fn), out_shardings=sh)
    cols = (np.arange(16, dtype=np.int32), np.linspace(0.2, 1.8, 16), np.ones(16))
    two = np.asarray(g(*(jax.device_put(c, sh) for c in cols)))
    one = np.asarray(jax.jit(jax.vmap(fn))(*(jax.device_put(c, jax.devices()[0]) for c in cols)))
    np.testing.assert_allclose(two, one, rtol=0, atol=1e-12)
    print("OK")
    """
)


def _jaxlib_parallel_lapack() -> bool:
    """jaxlib 0.9.1-0.11.0 run batched LAPACK calls (0.9.x: SVD only) as blocking tasks on XLA:CPU's
    thread pool."""
    version = tuple(int(p) for p in jaxlib.__version__.split(".")[:3] if p.isdigit())
    return (0, 9, 1) <= version <= (0, 11, 0)


def test_keyed_builder_and_svd_sweep_on_two_host_devices_finishes(tmp_path):
    assert _run_forced_devices(tmp_path, "keyed_svd", _KEYED_SVD, 2, timeout=90).startswith("OK")


@pytest.mark.skipif(_jaxlib_parallel_lapack(), reason=(
    "jaxlib 0.9.1-0.11.0: a vmapped SVD over forced host devices can hang without tnn too (batched LAPACK "
    "blocks on its own thread pool; tnn.sweeps.program.per_device); sweeps.sweep is the tested route there"))
def test_keyed_builder_and_svd_jit_vmap_on_two_host_devices_finishes(tmp_path):
    assert _run_forced_devices(tmp_path, "keyed_svd_jit", _KEYED_SVD_JIT, 2, timeout=90).startswith("OK")


def test_disorder_stats_and_seeds_needed():
    import xarray as xr

    x = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, np.nan, 1.0], [np.nan] * 4, [2.0, np.nan, np.nan, np.nan]])
    da = xr.DataArray(x, dims=("g", "seed"), coords={"g": [0, 1, 2, 3]})
    st = sweeps.disorder_stats(da)
    np.testing.assert_array_equal(st["n_valid"].values, [4, 3, 0, 1])
    np.testing.assert_allclose(st["nan_fraction"].values, [0.0, 0.25, 1.0, 0.75])
    np.testing.assert_allclose(st["mean"].values, [1.0, 2 / 3, np.nan, 2.0])
    sd = np.std([0.0, 1.0, 1.0], ddof=1)
    np.testing.assert_allclose(st["std"].values, [0.0, sd, np.nan, np.nan])
    np.testing.assert_allclose(st["sem"].values, [0.0, sd / np.sqrt(3), np.nan, np.nan])
    need = sweeps.seeds_needed(da, 0.05)
    # (sd / 0.05)^2 = 133.3 -> 134 valid samples; a quarter are ill-defined -> ceil(134 / 0.75) = 179.
    np.testing.assert_array_equal(need.values, [2.0, 179.0, np.nan, np.nan])
    np.testing.assert_array_equal(sweeps.seeds_needed(st, 0.05).values, need.values)
    with pytest.raises(ValueError, match="`target_sem`"):
        sweeps.seeds_needed(da, 0.0)
    with pytest.raises(ValueError, match="`dim`"):
        sweeps.disorder_stats(da, dim="key")


def test_plan_measures_memory_per_point():
    pl = sweeps.plan(ssh_winding, {"v": np.linspace(0, 2, 50), "w": np.linspace(0, 2, 50)})
    # At least the chain's 40 x 40 chiral block in float64 lives in the temporaries of one point.
    assert pl.bytes_per_point > 40 * 40 * 8
    assert pl.chunk_bytes_estimate == pl.bytes_per_point * (pl.chunk // pl.n_devices)
    assert pl.chunk_bytes_estimate <= pl.memory_budget
    assert pl.n_items == 2500 and pl.n_chunks == -(-2500 // pl.chunk)
    assert pl.chunk <= sweeps.MAX_CHUNK_PER_DEVICE * pl.n_devices


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(grid={}), "`grid`"),
        (dict(grid={"v": [], "w": [1.0]}), r"`grid\['v'\]`.*empty"),
        (dict(grid={"v": np.ones((2, 2)), "w": [1.0]}), r"`grid\['v'\]`.*1D"),
        (dict(grid={"v": [1.0], "x": [1.0]}), "`grid`.*match"),
        (dict(grid={"v": [1.0]}), "`grid`.*match"),
        (dict(grid={"v": [1.0], "w": [1.0]}, chunk=0), "`chunk`"),
        (dict(grid={"v": [1.0], "w": [1.0]}, n_keys=-1), "`n_keys`"),
        (dict(grid={"v": [1.0], "w": [np.nan]}), r"`grid\['w'\]`.*finite"),
        (dict(grid={"v": [1.0], "w": [1.0]}, out="x.txt"), "`out`"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(kwargs, match):
    kwargs = dict(kwargs)
    grid = kwargs.pop("grid")
    with pytest.raises(ValueError, match=match):
        sweeps.sweep(ssh_winding, grid, **kwargs)


def test_non_jittable_fn_and_bad_outputs_are_value_errors():
    with pytest.raises(ValueError, match="`fn`.*traced"):
        sweeps.sweep(lambda v: float(v) + 1.0, {"v": [1.0, 2.0]})
    with pytest.raises(ValueError, match="`fn`.*one array"):
        sweeps.sweep(lambda v: (v, v), {"v": [1.0]})
    with pytest.raises(ValueError, match="`grid`.*key"):
        sweeps.sweep(ssh_winding, {"v": [1.0], "w": [1.0]}, n_keys=2)


def test_unwritable_out_is_a_value_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="`out`.*not writable"):
        sweeps.sweep(ssh_winding, {"v": [1.0], "w": [1.0]}, out=blocker / "sub" / "a.nc")


# ------------------------------------------------------------------------------ tnn sweep
def test_cli_ssh_vw_quick_agrees_with_kspace(tmp_path, capsys):
    from tnn import cli

    out = tmp_path / "ssh"
    rc = cli.main(["sweep", "ssh-vw", "--quick", "--size", "24", "--points", "9", "--out", str(out), "--no-progress"])
    assert rc == 0
    assert (out / "phase_diagram.png").stat().st_size > 0
    cfg = __import__("json").loads((out / "config.json").read_text())
    assert cfg["preset"] == "ssh-vw" and cfg["n_items"] == 81
    da = sweeps.load(out / "sweep.nc")
    assert da.dims == ("v", "w")
    for v in da.coords["v"].values:
        for w in da.coords["w"].values:
            val = da.sel(v=v, w=w).item()
            if abs(v) == abs(w):
                # (0, 0) is H = 0, which the invariant currently returns as 0.0 (its size-aware gap
                # tolerance scales with the bandwidth, 0 here); every other |v| = |w| must be NaN.
                assert np.isnan(val) or v == 0.0
            elif min(abs(v), abs(w)) <= 0.5 * max(abs(v), abs(w)):
                assert abs(val - kspace.winding_number((float(v), float(w)))) < 1e-6
    assert "81 points" in capsys.readouterr().out


def test_cli_ssh_disorder_follows_the_strong_disorder_line(tmp_path):
    from tnn import cli, systems

    out = tmp_path / "dis"
    argv = ["sweep", "ssh-disorder", "--size", "32", "--points", "5", "--n-keys", "2", "--out", str(out), "--no-progress"]
    assert cli.main(argv) == 0
    da = sweeps.load(out / "sweep.nc")
    assert da.dims == ("w", "W", "seed") and da.shape == (5, 5, 2)
    mean = sweeps.disorder_stats(da)["mean"]
    # Far on either side of the disordered critical line the chain is in a definite phase.
    for w in da.coords["w"].values:
        for W in da.coords["W"].values:
            wc = systems.ssh.ssh_critical_w(float(W))
            if w > 1.6 * wc:
                assert mean.sel(w=w, W=W).item() == pytest.approx(1.0, abs=0.02), (w, W)
            elif w < wc / 1.6:
                assert mean.sel(w=w, W=W).item() == pytest.approx(0.0, abs=0.02), (w, W)
    assert systems.ssh.ssh_critical_w(0.0) == pytest.approx(1.0, abs=1e-9)
    assert systems.ssh.ssh_critical_w(2.0) < 0.9  # topological Anderson insulator region
    assert systems.ssh.ssh_critical_w(6.0) > 1.3  # strong disorder: trivial beyond the clean line


def test_cli_errors_and_help(tmp_path, capsys):
    from tnn import cli

    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli.main(["sweep", "haldane", "--out", str(blocker / "x"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "`--out`" in err and "not a writable folder" in err and "Traceback" not in err
    assert cli.main(["sweep", "haldane", "--chunk", "0", "--out", str(tmp_path / "h")]) == 2
    assert "`--chunk`" in capsys.readouterr().err
    assert cli.main(["sweep", "ssh-vw", "--n-keys", "3", "--out", str(tmp_path / "s"), "--no-progress"]) == 2
    assert "`n_keys`" in capsys.readouterr().err
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command").choices["sweep"]
    for action in sub._actions:
        assert action.help, action.dest
