"""The finite-size-scaling sweep presets on the matrix-free KPM machinery (issue 22 item 4):
``ssh-kpm-scaling`` (KPM winding number) and ``qwz-kpm-tai`` (KPM Chern number). Each tiny run's values
are checked against the dense invariant of the same samples, within KPM's stated error."""

from __future__ import annotations

import json

import numpy as np
import jax
import pytest

import tnn
from tnn import invariants, kpm, lattice, operators, sweeps
from tnn.assembly import assemble
from tnn.sweeps.presets import PRESETS, run_preset, scaling_crossings
from tnn.systems import qwz as qwz_mod, ssh as ssh_mod

SCALING = ("ssh-kpm-scaling", "qwz-kpm-tai")


def test_presets_registered_and_listed(capsys):
    from tnn import cli

    for name in SCALING:
        p = PRESETS[name]
        assert p.sizes and p.quick_sizes and max(p.sizes) == p.size and max(p.quick_sizes) == p.quick_size
        assert p.n_keys > 0 and p.quick_keys > 0
    assert max(PRESETS["ssh-kpm-scaling"].sizes) >= 10 ** 5 and min(PRESETS["ssh-kpm-scaling"].sizes) >= 10 ** 4
    assert PRESETS["qwz-kpm-tai"].size == 200
    assert cli.main(["sweep", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in SCALING)
    # the known critical disorder of the SSH preset is the Mondragon-Shem line's
    wc = PRESETS["ssh-kpm-scaling"].critical(1.5)
    assert ssh_mod.ssh_critical_w(wc) == pytest.approx(1.5, abs=1e-6) and 5.0 < wc < 7.0


def _items(da):
    """(W, y, seed index, value) of every item of a sweep."""
    x, y = da.dims[:2]
    for W in da.coords[x].values:
        for yy in da.coords[y].values:
            for s in da.coords["seed"].values:
                yield float(W), float(yy), int(s), float(da.sel({x: W, y: yy, "seed": s}).item())


def _check_against_dense(da, seed, sample, dense):
    """Every item: the sweep's value is the KPM value of the sample of its key, and it lies within KPM's
    stated error of the dense invariant of that sample (an infinite error claims nothing). The stated
    error is an estimate, not a bound (tnn.kpm): on a 48-cell chain at W = 12 (seed 3, key 1) the
    difference was 1.04 times it, so one item in four may exceed it by up to half again."""
    finite, over = 0, 0
    for W, y, s, value in _items(da):
        key = jax.random.fold_in(jax.random.key(seed), s)
        r, H = sample(W, y, key)
        assert value == pytest.approx(float(r.value), abs=1e-9)
        d = float(dense(H))
        if np.isfinite(float(r.error)):
            finite += 1
            assert abs(value - d) <= 1.5 * float(r.error), (W, y, s, value, d, float(r.error))
            over += abs(value - d) > float(r.error)
    assert over <= finite // 4, (over, finite)
    return finite


@pytest.mark.slow  # ~12 s; the presets' registration, figure and crossings stay in the default run
def test_ssh_kpm_scaling_tiny_run_matches_dense(tmp_path):
    tnn.enable_x64()
    L, seed = 48, 3
    cfg = run_preset("ssh-kpm-scaling", tmp_path, size=L, points=2, n_keys=2, seed=seed, progress=False)
    assert cfg["sizes"] == [L] and cfg["n_items"] == 8
    assert (tmp_path / "phase_diagram.png").stat().st_size > 0 and (tmp_path / f"sweep_L{L}.nc").exists()
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["sizes"] == [L] and set(saved["seconds_per_size"]) == {str(L)}
    assert set(saved["crossings"]) == {"1.5", "2"} and saved["files"]["figure"] == "phase_diagram.png"
    da = sweeps.load(tmp_path / "sweep.nc").sel(size=L)
    lat = lattice.chain(L)
    fn = jax.jit(lambda W, w, key: _ssh_kpm(lat, W, w, key))

    def sample(W, w, key):
        tm = ssh_mod.ssh_disorder_terms(w, W, lat, key)
        return fn(W, w, key), assemble(tm)

    dense = jax.jit(lambda H: invariants.winding_number(H, lat, validity="raw"))
    assert _check_against_dense(da, seed, sample, dense) >= 4
    clean = da.sel(W=0.0).values
    assert np.allclose(clean, 1.0, atol=0.05)  # clean limit: W = 1 for w = 1.5, 2 > v = 1


def _ssh_kpm(lat, W, w, key):
    tm = ssh_mod.ssh_disorder_terms(w, W, lat, key)
    op = operators.from_terms(tm, lat)
    return kpm.winding_number(op, lat, num_moments=ssh_mod.SSH_KPM_MOMENTS, num_vectors=ssh_mod.SSH_KPM_VECTORS,
                              key=jax.random.fold_in(key, 1), bounds=op.gershgorin())


@pytest.mark.slow
def test_qwz_kpm_tai_tiny_run_matches_dense(tmp_path):
    tnn.enable_x64()
    n, seed = 14, 1
    cfg = run_preset("qwz-kpm-tai", tmp_path, size=n, points=2, n_keys=2, seed=seed, progress=False)
    assert cfg["sizes"] == [n] and cfg["n_items"] == 8
    da = sweeps.load(tmp_path / "sweep.nc").sel(size=n)
    lat = lattice.square(n, n)

    @jax.jit
    def sample(W, m, key):
        tm = qwz_mod.qwz_terms(m, lat, onsite_disorder=W, key=key)
        op = operators.from_terms(tm, lat)
        r = kpm.chern_number(op, lat, num_moments=qwz_mod.QWZ_KPM_MOMENTS, num_vectors=qwz_mod.QWZ_KPM_VECTORS,
                             key=jax.random.fold_in(key, 1), bounds=op.gershgorin())
        return r, assemble(tm)

    dense = jax.jit(lambda H: invariants.chern_number(H, lat, method="marker", validity="raw"))
    assert _check_against_dense(da, seed, sample, dense) >= 2
    assert np.allclose(da.sel(W=0.0, m=-1.0).values, 1.0, atol=0.2)  # clean C = +1 at m = -1 (14 x 14: 0.89-0.94)
    assert np.allclose(da.sel(W=0.0, m=2.2).values, 0.0, atol=0.2)  # clean trivial at m = 2.2 (14 x 14: 0.12)


def test_scaling_figure_and_crossings(tmp_path):
    """Two sizes: one curve each in the figure, the crossings recorded in config.json."""
    import xarray as xr

    p = PRESETS["ssh-kpm-scaling"]
    W = np.linspace(0.0, 12.0, 7)
    rng = np.random.default_rng(0)
    # synthetic means: steps at W = 6, the larger size steeper, so the curves cross at 6
    curves = [1.0 / (1.0 + np.exp((W - 6.0) / s)) for s in (2.0, 1.0)]
    vals = np.stack([c[:, None, None] + 0.01 * rng.standard_normal((7, 1, 4)) for c in curves])
    da = xr.DataArray(vals, dims=("size", "W", "w", "seed"),
                      coords={"size": [100, 200], "W": W, "w": [1.5], "seed": np.arange(4)})
    c = scaling_crossings(da, p)["1.5"]
    assert c["pairs"] == [[100, 200]] and c["x"][0] == pytest.approx(6.0, abs=0.3)
    assert all(x == pytest.approx(6.0, abs=0.3) for x in c["x_half"])
    assert c["known"] == pytest.approx(p.critical(1.5))
    from tnn.sweeps import presets

    path = tmp_path / "phase_diagram.png"
    presets._plot_scaling(path, p, da, sweeps.disorder_stats(da), {"1.5": c})
    assert path.stat().st_size > 0
