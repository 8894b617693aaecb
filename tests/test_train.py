"""Training: smoke accuracy of every baseline, resume after a kill, results folder, early stopping,
ensembles, streamed data, metrics and config checks.

The dataset is the easy SSH problem: periodic chains of L = 16 cells with hoppings (v, w), labels
W = 1 for |w| > |v| else 0 (the k-space winding number), ratios v/w kept at least a factor
exp(0.3) away from the transition.
"""

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import jax
import jax.numpy as jnp

from tnn import hamiltonians, results as tres, lattice
from tnn.train import optim
from tnn.models import ModelConfig, make_model
from tnn.train import (FitResult, Interrupted, TrainConfig, fit, learning_rate, load_run, make_optimizer,
                       metrics_from_outputs, predict)

L = 16


def make_ssh(n, seed, L=L):
    lat = lattice.chain(L, pbc=True)
    rng = np.random.default_rng(seed)
    r = np.exp(rng.choice([-1.0, 1.0], n) * rng.uniform(0.3, 1.5, n))
    t = np.stack([r, np.ones(n)], axis=-1)
    t = t / t.max(axis=1, keepdims=True)
    H = jax.vmap(lambda tt: hamiltonians.ssh(tt, lat))(jnp.asarray(t))
    E, V = jnp.linalg.eigh(H)
    return lat, {"hamiltonian": H, "energies": E, "eigenvectors": V}, (r < 1).astype(int)


@pytest.fixture(scope="module")
def ssh():
    lat, feats, y = make_ssh(256, 0)
    return lat, feats, y


def tiny(name, **kw):
    base = dict(width=8, depth=1, radius=1, kernel_size=3)
    base.update(kw)
    return ModelConfig(name, **base)


def params_equal(a, b):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    return len(la) == len(lb) and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb))


@pytest.mark.slow  # 10 s (three fits); vmap and loop ensembles are fitted in test_regression
def test_auto_ensemble_runs_2d_convolutions_member_by_member(tmp_path):
    # a vmapped 2D convolution is a grouped convolution, ~10x slower on XLA:CPU than a loop over members
    import json

    lat2 = lattice.square(4, 4)
    H = jax.vmap(lambda m: hamiltonians.qwz(m, lat2))(jnp.linspace(-3.0, 3.0, 8))
    y = np.array([0, 0, 1, 1, 1, 1, 0, 0])
    cfg = TrainConfig(seeds=(0, 1), epochs=1, batch_size=4)
    cpu = jax.default_backend() == "cpu"
    for name, lat_, x, want in (("cnn", lat2, {"hamiltonian": H}, "loop" if cpu else "vmap"),
                                ("mlp", lat2, {"hamiltonian": H}, "vmap"),
                                ("cnn", *make_ssh(8, 0)[:2], "vmap")):
        out = tmp_path / f"{name}{lat_.kind}"
        fit(make_model(tiny(name, width=4), lat_), cfg, ({"hamiltonian": x["hamiltonian"]}, y), results_dir=out)
        assert json.loads((out / "config.json").read_text())["ensemble_mode"] == want, (name, lat_.kind)


# ------------------------------------------------------------------------------------ smoke
@pytest.mark.parametrize("name", ["mlp", "cnn", pytest.param("resnet", marks=pytest.mark.slow),
                                  pytest.param("symmetric", marks=pytest.mark.slow)])
def test_baseline_learns_easy_ssh(name, ssh):
    lat, feats, y = ssh
    model = make_model(tiny(name), lat)
    cfg = TrainConfig(seeds=(0,), epochs=8, batch_size=32, learning_rate=1e-2, eval_train=False)
    res = fit(model, cfg, ({"hamiltonian": feats["hamiltonian"]}, y))
    assert res.final()["val_acc"] > 0.9, res.final()
    assert res.final()["val_loss"] < res.history[0]["val_loss"]


def test_perturbed_topo_trains(ssh):
    """topo started from the exact tensors plus noise (sigma = 0.3) recovers by training. (The exact
    initialization itself is perfect: tests/test_models.py and the CLI test below.)"""
    lat, feats, y = ssh
    wf = {"energies": feats["energies"][:96], "eigenvectors": feats["eigenvectors"][:96]}
    rnd = make_model(tiny("topo", init="exact_noise", noise=0.3, channels=2, head_width=4), lat)
    res = fit(rnd, TrainConfig(seeds=(0,), epochs=3, batch_size=16, learning_rate=1e-2, eval_train=False), (wf, y[:96]))
    assert res.final()["val_loss"] < res.history[0]["val_loss"]
    assert res.final()["val_acc"] > 0.9


# ------------------------------------------------------------------------------------ resume
@pytest.fixture(scope="module")
def cnn4(ssh):
    """One tiny CNN shared by the tests below, so that their fits reuse its compiled functions."""
    lat, feats, y = ssh
    return make_model(tiny("cnn", width=4), lat), ({"hamiltonian": feats["hamiltonian"][:96]}, y[:96])


def test_resume_after_interrupt_equals_uninterrupted(cnn4, tmp_path):
    """Both ensemble modes: kill after epoch 2, resume -> bitwise the uninterrupted parameters and
    history; and the vmap and loop modes agree with each other to rounding."""
    model, data = cnn4
    cfg = TrainConfig(seeds=(3, 5), epochs=4, batch_size=16, schedule="cosine", clip_norm=1.0)

    def kill_at_2(epoch, rows):
        if epoch == 2:
            raise Interrupted

    straight = {}
    for mode in ("loop", "vmap"):
        c = dataclasses.replace(cfg, ensemble=mode)
        straight[mode] = fit(model, c, data, results_dir=tmp_path / f"straight-{mode}")
        run = tmp_path / f"resumed-{mode}"
        with pytest.raises(Interrupted):
            fit(model, c, data, results_dir=run, callback=kill_at_2)
        assert len(tres.read_csv(run / "metrics.csv")) == 4  # 2 epochs x 2 members on disk
        with pytest.raises(ValueError, match="`results_dir`"):
            fit(model, c, data, results_dir=run)  # never silently overwrite
        resumed = fit(model, c, data, results_dir=run, resume=True)
        assert params_equal(straight[mode].params, resumed.params)
        assert [r["train_loss"] for r in straight[mode].history] == [r["train_loss"] for r in resumed.history]
        assert not [f for f in os.listdir(run) if f.startswith(".tmp-")]
    for x, z in zip(jax.tree_util.tree_leaves(straight["vmap"].params), jax.tree_util.tree_leaves(straight["loop"].params)):
        np.testing.assert_allclose(x, z, atol=1e-10, rtol=1e-10)
    k = jax.tree_util.tree_leaves(straight["vmap"].params)[0]
    assert not np.allclose(k[0], k[1])  # members differ (own init and data order)
    # a changed config cannot resume this run
    with pytest.raises(ValueError, match="`resume`"):
        fit(model, dataclasses.replace(cfg, learning_rate=0.5, ensemble="loop"), data,
            results_dir=tmp_path / "resumed-loop", resume=True)


_KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    import tnn
    tnn.enable_x64()
    from test_train import make_ssh, tiny
    from tnn.models import make_model
    from tnn.train import TrainConfig, fit

    lat, feats, y = make_ssh(96, 1)
    model = make_model(tiny("resnet", width=4), lat)
    cfg = TrainConfig(seeds=(0, 1), epochs=3, batch_size=16, ensemble="vmap")

    def die(epoch, rows):
        if epoch == 2:
            os.kill(os.getpid(), signal.SIGKILL)

    fit(model, cfg, ({{"hamiltonian": feats["hamiltonian"]}}, y), results_dir=sys.argv[1], callback=die)
    """
)


@pytest.mark.slow
def test_resume_after_sigkill_equals_uninterrupted(tmp_path):
    """A real ``kill -9`` after epoch 2, then resume in this process: same parameters, bitwise."""
    script = tmp_path / "run.py"
    script.write_text(_KILL_SCRIPT.format(tests=str(Path(__file__).parent)))
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "run")], capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert (tmp_path / "run" / "checkpoint.npz").exists()
    lat, feats, y = make_ssh(96, 1)
    model = make_model(tiny("resnet", width=4), lat)
    cfg = TrainConfig(seeds=(0, 1), epochs=3, batch_size=16, ensemble="vmap")
    data = ({"hamiltonian": feats["hamiltonian"]}, y)
    resumed = fit(model, cfg, data, results_dir=tmp_path / "run", resume=True)
    straight = fit(model, cfg, data)
    assert params_equal(straight.params, resumed.params)
    assert len(resumed.history) == 6


# ------------------------------------------------------------------------------------ results
def test_results_folder_and_load_run(ssh, tmp_path):
    lat, feats, y = ssh
    data = ({"hamiltonian": feats["hamiltonian"][:96]}, y[:96])
    model = make_model(tiny("mlp"), lat)
    cfg = TrainConfig(seeds=(0, 7), epochs=2, batch_size=16)
    res = fit(model, cfg, data, results_dir=tmp_path / "run", extra_config={"dataset": "ssh-test"})
    d = tmp_path / "run"
    cfgj = tres.read_json(d / "config.json")
    assert cfgj["seeds"] == [0, 7] and cfgj["model"]["name"] == "mlp" and cfgj["dataset"] == "ssh-test"
    assert TrainConfig.from_dict(cfgj["train"]) == cfg.validate()
    rows = tres.read_csv(d / "metrics.csv")
    assert len(rows) == 4 and {r["seed"] for r in rows} == {0, 7}
    assert {"train_loss", "val_loss", "val_acc", "val_acc_0", "val_acc_1", "val_mae", "val_ece", "train_acc"} <= set(rows[0])
    assert rows[-1]["train_loss"] == res.history[-1]["train_loss"]  # floats round-trip exactly
    assert (d / "figures" / "learning_curves.png").stat().st_size > 1000
    model2, params, rows2, _ = load_run(d)
    assert model2.config == model.config
    assert params_equal(params[7], res.member(1))
    np.testing.assert_array_equal(predict(model2, params[0], data[0]), predict(model, res.member(0), data[0]))


# ------------------------------------------------------------------------------------ features
def test_early_stopping_keeps_the_best(cnn4):
    model, data = cnn4
    # min_delta larger than any possible improvement: epoch 1 stays the best, patience 2 stops at 3
    cfg = TrainConfig(seeds=(0,), epochs=10, batch_size=16, early_stopping=2, min_delta=100.0, ensemble="loop")
    res = fit(model, cfg, data)
    assert res.epochs_run == 3 and res.best_epoch == [1]
    one = fit(model, dataclasses.replace(cfg, epochs=1, early_stopping=0), data)
    assert params_equal(res.params, one.params)


def test_streamed_batches_match_in_memory(ssh):
    """A loader yielding the in-memory batch order gives the same parameters (different code path:
    a jitted step per batch instead of a scan over the epoch)."""
    lat, feats, y = ssh
    H, yy = feats["hamiltonian"][:96], y[:96]
    model = make_model(tiny("mlp"), lat)
    cfg = TrainConfig(seeds=(4,), epochs=2, batch_size=16, eval_train=False)
    ref = fit(model, cfg, ({"hamiltonian": H}, yy), ({"hamiltonian": H[:8]}, yy[:8]))

    class Loader:
        def __len__(self):
            return 96 // 16

        def batches(self, epoch):
            perm = np.random.default_rng([4, epoch + 1]).permutation(96).reshape(6, 16)
            for idx in perm:
                yield {"hamiltonian": H[idx]}, yy[idx]

    got = fit(model, cfg, Loader(), ({"hamiltonian": H[:8]}, yy[:8]))
    for x, z in zip(jax.tree_util.tree_leaves(ref.params), jax.tree_util.tree_leaves(got.params)):
        np.testing.assert_allclose(x, z, atol=1e-10, rtol=1e-9)


def test_regression_task_and_schedules(ssh):
    lat, feats, y = ssh
    mlp = make_model(tiny("mlp", task="regress"), lat)
    cfg = TrainConfig(seeds=(0,), epochs=3, batch_size=16, optimizer="adamw", schedule="warmup_cosine",
                      warmup_epochs=1, weight_decay=1e-4, learning_rate=1e-2)
    res = fit(mlp, cfg, ({"hamiltonian": feats["hamiltonian"][:64]}, y[:64]))
    steps = 51 // 16  # 64 samples, 13 held out for validation
    want = [0.0] + [1e-2 * 0.5 * (1 + np.cos(np.pi * (e * steps - steps) / (3 * steps - steps))) for e in (1, 2)]
    assert [row["lr"] for row in res.history] == pytest.approx(want)  # warmup from 0, then cosine
    assert res.final()["train_loss"] < res.history[0]["train_loss"]
    assert {"val_mae", "val_rmse", "val_bias", "val_acc"} <= set(res.final()) and "val_ece" not in res.final()
    # SGD with momentum and an exponential schedule: lr(step) = lr0 * rate^(step / total)
    cfg = TrainConfig(seeds=(0,), epochs=4, optimizer="sgd", schedule="exponential", decay_rate=0.1, learning_rate=1.0)
    tx = make_optimizer(cfg, steps_per_epoch=5)
    p = {"w": jnp.ones(3)}
    upd, _ = optim.update(tx, {"w": jnp.ones(3)}, optim.init(tx, p), p)  # optax under any promotion rule
    np.testing.assert_allclose(upd["w"], -1.0)
    state = optim.init(tx, p)
    for _ in range(11):
        _, state = optim.update(tx, {"w": jnp.ones(3)}, state, p)
    assert float(learning_rate(state)) == pytest.approx(0.1**0.5)  # the state carries the rate of step 10


def test_metrics_from_outputs_by_hand():
    cfg = ModelConfig("cnn", classes=(-1, 0, 1)).validate()
    values = np.array([-1, 0, 1, 1])
    logits = np.log(np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.1, 0.8, 0.1]]))
    m = metrics_from_outputs(cfg, logits, values, bins=10)
    assert m["acc"] == 0.75 and m["acc_-1"] == 1.0 and m["acc_0"] == 1.0 and m["acc_1"] == 0.5
    np.testing.assert_allclose(m["loss"], -np.mean(np.log([0.8, 0.8, 0.8, 0.1])))
    # all four at confidence 0.8 in one bin, 3/4 correct: ECE = |0.75 - 0.8|
    np.testing.assert_allclose(m["ece"], 0.05, atol=1e-12)
    # expected invariant: sum p_c v_c
    np.testing.assert_allclose(m["bias"], np.mean([-0.7, 0.0, 0.7, 0.0] - values))
    reg = ModelConfig("cnn", task="regress", classes=(0, 1)).validate()
    m2 = metrics_from_outputs(reg, np.array([[0.1], [0.6], [0.4]]), np.array([0, 1, 1]))
    assert m2["acc"] == pytest.approx(2 / 3) and m2["mae"] == pytest.approx((0.1 + 0.4 + 0.6) / 3)


# ------------------------------------------------------------------------------------ checks
@pytest.mark.parametrize(
    "field,value",
    [
        ("seeds", ()),
        ("seeds", (1, 1)),
        ("seeds", (-1,)),
        ("epochs", 0),
        ("batch_size", 2.5),
        ("optimizer", "lbfgs"),
        ("learning_rate", 0.0),
        ("schedule", "step"),
        ("clip_norm", -1.0),
        ("early_stopping", -1),
        ("monitor", "val_f1"),
        ("val_fraction", 1.0),
        ("ensemble", "pmap"),
        ("momentum", 1.0),
        ("decay_rate", 0.0),
        ("weight_decay", 0.1),
        ("eval_train", "yes"),
    ],
)
def test_invalid_train_config_names_the_field(field, value, ssh):
    lat, feats, y = ssh
    model = make_model(tiny("mlp"), lat)
    cfg = dataclasses.replace(TrainConfig(seeds=(0,), epochs=1), **{field: value})
    with pytest.raises(ValueError, match=f"`{field}`"):
        fit(model, cfg, ({"hamiltonian": feats["hamiltonian"][:64]}, y[:64]))


def test_bad_data_is_refused(ssh):
    lat, feats, y = ssh
    model = make_model(tiny("mlp"), lat)
    cfg = TrainConfig(seeds=(0,), epochs=1)
    x = {"hamiltonian": feats["hamiltonian"][:64]}
    with pytest.raises(ValueError, match="`y`"):
        fit(model, cfg, (x, np.full(64, 2)))
    with pytest.raises(ValueError, match="`train_data`"):
        fit(model, cfg, (x, y[:10]))
    with pytest.raises(ValueError, match="`features`"):
        fit(model, cfg, ({"density": feats["hamiltonian"][:64, 0]}, y[:64]))
    with pytest.raises(ValueError, match="`batch_size`"):
        fit(model, dataclasses.replace(cfg, batch_size=1000, val_fraction=0.0), (x, y[:64]))
    assert isinstance(fit(model, cfg, (x, y[:64])), FitResult)


# ------------------------------------------------------------------------------------ datasets, CLI
def _ssh01(root):
    from tnn import data

    spec = data.preset(
        "ssh01", size=8, n=48, seed=0, pbc=True, ranges=(0, 1),
        params=(data.uniform("t[0]", -1, 1), data.uniform("t[1]", -1, 1)), classes=(0, 1),
        features=("wavefunctions", "hoppings"), shard_size=48, chunk_size=16,
    )
    data.generate(spec, root / "ds")
    return root / "ds"


def test_fit_streams_a_generated_dataset(tmp_path):
    """A `tnn.data` dataset streamed from disk (DatasetLoader) and read into memory (load_dataset) trains."""
    from tnn.train import DatasetLoader, load_dataset

    ds = _ssh01(tmp_path)
    mcfg = ModelConfig("mlp", input="hoppings", width=4, depth=1).validate()
    loader = DatasetLoader(ds, mcfg, "train", batch_size=8, seed=0)
    ep0 = [y for _, y in loader.batches(0)]
    assert len(ep0) == len(loader) and all(len(y) == 8 for y in ep0)
    assert all(np.array_equal(a, b) for a, b in zip(ep0, [y for _, y in loader.batches(0)]))  # order = f(seed, epoch)
    xv, yv, lat, info = load_dataset(ds, mcfg, "val")
    res = fit(make_model(mcfg, loader.lattice), TrainConfig(seeds=(0,), epochs=2, batch_size=8), loader, (xv, yv))
    assert info["n"] == len(yv) and np.isfinite(res.final()["train_loss"]) and "val_acc" in res.final()


@pytest.mark.slow  # 11 s; `tnn train` end to end: tests/test_cli.py (config.json, test split), exact topo: test_study
def test_cli_trains_on_a_generated_dataset(tmp_path):
    """`tnn train` on a tiny `tnn.data` dataset: the exact topo model is perfect on both splits."""
    from tnn import cli

    ds = _ssh01(tmp_path)
    out = tmp_path / "run"
    rc = cli.main(["train", "--model", "topo", "--init", "exact", "--data", str(ds), "--seeds", "0",
                   "--epochs", "1", "--batch-size", "8", "--out", str(out), "--no-progress"])
    assert rc == 0
    rows = tres.read_csv(out / "metrics.csv")
    assert rows[-1]["val_acc"] == 1.0 and rows[-1]["train_acc"] == 1.0
    cfg = tres.read_json(out / "config.json")
    assert cfg["data"]["model"] == "ssh" and cfg["model"]["classes"] == [0, 1] and cfg["seeds"] == [0]
    # a bad field is reported by name, exit status 2
    assert cli.main(["train", "--model", "cnn", "--width", "0", "--data", str(ds), "--seeds", "0",
                     "--out", str(tmp_path / "bad"), "--no-progress"]) == 2
