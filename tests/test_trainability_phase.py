"""tnn.study.trainability: the vmap ensemble trainer, the phase diagram, the block-noise table, the regression head's trainer."""

import dataclasses

import numpy as np
import jax
import jax.numpy as jnp
import pytest
from scipy.stats import binomtest

import tnn
import tnn.study.probes
from tnn.study import trainability as tr
from tnn.models import ModelConfig, make_model
from tnn.study.probes import chain_features
from tnn.study.trainability import ensemble, phase

tnn.enable_x64()
L = 12
SMALL = dict(channels=1, fn_width=2, head_width=0)


def _set(n, seed, ranges=(0, 1), t_fixed=None):
    """Open SSH chains of L cells with certified real-space winding labels (gapless ones dropped)."""
    rng = np.random.default_rng(seed)
    lat = tnn.lattice.chain(L)
    if t_fixed is None:
        # deep in either phase (v, w in (0.1, 0.4) and (0.7, 1.0)): certified at this size
        t = rng.uniform(0.1, 0.4, size=(n, 2))
        t[: n // 2, 1] += 0.6
        t[n // 2 :, 0] += 0.6
    else:
        t = np.tile(np.asarray(t_fixed, float), (n, 1)) + rng.uniform(-0.05, 0.05, size=(n, len(t_fixed)))
    H = np.stack([np.asarray(tnn.hamiltonians.ssh(jnp.asarray(ti), lat, ranges=ranges)) for ti in t])
    w = np.asarray(tnn.study.probes.winding_labels(H, lat))
    ok = np.isfinite(w)
    f = chain_features(H[ok])
    return {"energies": f["energies"], "wavefunctions": f["wavefunctions"]}, np.round(w[ok]), lat


@pytest.fixture(scope="module")
def sets():
    x, y, lat = _set(48, 0)
    xt, yt, _ = _set(48, 1)
    assert set(np.unique(y)) == {0.0, 1.0} and len(y) >= 32
    return (x, y), (xt, yt), lat


def _cp(k, n):
    ci = binomtest(int(k), int(n)).proportion_ci(0.95, method="exact")
    return ci.low, ci.high


def test_objective_is_the_classify_model(sets):
    """One compiled loss holds both losses: ce = 1 is the classify model's cross-entropy (class_logits of
    the regressed f), ce = 0 the squared error; predictions are the classify model's arg-max."""
    (x, y), _, lat = sets
    cfg = ModelConfig("topo", init="random", tau=3.0, **SMALL)
    reg = dataclasses.replace(cfg, task="regress")
    model, loss_fn, pred_fn = phase.objective(reg, lat)
    assert phase.objective(reg, lat)[1] is loss_fn  # cached: the compiled ensemble is reused
    clf = make_model(cfg, lat)
    xx = clf.prepare(x)
    p = clf.init(jax.random.key(3), xx)
    from tnn.train import encode_labels, make_loss

    ref = make_loss(clf)(p, xx, jnp.asarray(encode_labels(cfg, y)))
    assert float(loss_fn(p, xx, jnp.asarray(y), 1.0)) == pytest.approx(float(ref), rel=1e-10)
    f = model.apply(p, xx)[:, 0]
    assert float(loss_fn(p, xx, jnp.asarray(y), 0.0)) == pytest.approx(float(jnp.mean((f - y) ** 2)), rel=1e-12)
    arg = np.asarray(cfg.classes)[np.asarray(jnp.argmax(clf.apply(p, xx), axis=1))]
    np.testing.assert_array_equal(np.asarray(pred_fn(p, xx, 1.0)), arg)
    assert tr.param_blocks(p) == ("head", "kernel", "mixing", "spectral")  # pytree (sorted) order


def test_bad_arguments_raise(sets):
    train, test, lat = sets
    cfg = ModelConfig("topo", init="random", **SMALL)
    bad = [
        (dict(optimizers=("adam", "rmsprop")), "`optimizers`"),
        (dict(losses=("hinge",)), "`losses`"),
        (dict(learning_rates=(1e-2, -1.0)), "`learning_rates`"),
        (dict(steps=(10, 5)), "`steps`"),
        (dict(steps=()), "`steps`"),
        (dict(taus=(0.0,)), "`taus`"),
        (dict(seeds=()), "`seeds`"),
        (dict(batch_size=0), "`batch_size`"),
        (dict(threshold=1.5), "`threshold`"),
        (dict(steps=(5, 10), lbfgs_steps=(1,)), "`lbfgs_steps`"),
    ]
    for kw, match in bad:
        with pytest.raises(ValueError, match=match):
            tr.phase_diagram(cfg, lat, train, test, **kw)
    with pytest.raises(ValueError, match="`model_config`"):
        tr.phase_diagram(ModelConfig("cnn"), lat, train, test)
    with pytest.raises(ValueError, match="`test`"):
        tr.phase_diagram(cfg, lat, train, (test[0], test[1] + 5))
    with pytest.raises(ValueError, match="`train`"):
        tr.phase_diagram(cfg, lat, (train[0], train[1][:3]), test)
    with pytest.raises(ValueError, match="`blocks`"):
        tr.block_noise(cfg, lat, train, test, blocks=("kernel", "coords"))
    with pytest.raises(ValueError, match="`sigmas`"):
        tr.block_noise(cfg, lat, train, test, sigmas=(0.1, -1.0))
    with pytest.raises(ValueError, match="`optimizer`"):
        tr.block_noise(cfg, lat, train, test, optimizer="lbgfs")
    with pytest.raises(ValueError, match="`model`"):
        tr.fit_regression(make_model(cfg, lat), train, test)
    with pytest.raises(ValueError, match="`optimizer`"):
        tr.make_optimizer("adagrad")
    p = {"w": jnp.zeros((2, 3))}
    with pytest.raises(ValueError, match="`optimizer`"):
        tr.train_ensemble(lambda q, x, t, a: 0.0, p, (jnp.zeros((4, 1)), jnp.zeros(4)), optimizer=["adam", "lbfgs"])


def test_block_noise_at_init_separates_blocks(sets, tmp_path):
    """steps=(0,): the noisy exact inits themselves. A tiny sigma keeps every member at the invariant; the
    rates and intervals are Clopper-Pearson's (scipy)."""
    train, test, lat = sets
    cfg = ModelConfig("topo", **SMALL)
    r = tr.block_noise(cfg, lat, train, test, sigmas=(1e-4, 30.0), steps=(0,), seeds=(0, 1, 2, 3))
    assert r["block"] == ["head", "kernel", "mixing", "spectral"]
    assert r["success"].shape == (4, 2, 1) and r["acc"].shape == (4, 2, 1, 4)
    np.testing.assert_array_equal(r["success"][:, 0, 0], 4)
    assert r["success"][:, 1, 0].min() < 4  # sigma = 30 on some block breaks the invariant
    for ib in range(4):
        for js in range(2):
            k = int(r["success"][ib, js, 0])
            assert (r["ci_lo"][ib, js, 0], r["ci_hi"][ib, js, 0]) == pytest.approx(_cp(k, 4), abs=1e-12)
    assert r["block_size"]["mixing"] == 4 and r["block_size"]["head"] == 3
    text = tr.block_table(r)
    assert "kernel" in text and "head" in text
    paths = tr.write_block_noise(r, tmp_path)
    assert paths["json"].exists() and paths["figure"].exists()


@pytest.mark.slow
def test_tiny_grid_runs_and_is_deterministic(sets, tmp_path):
    train, test, lat = sets
    cfg = ModelConfig("topo", init="random", **SMALL)
    kw = dict(learning_rates=(1e-2, 1e-1), steps=(0, 4, 8), optimizers=("adam", "sgd"), taus=(1.0, 10.0),
              seeds=(0, 1, 2), batch_size=8)
    r1 = tr.phase_diagram(cfg, lat, train, test, **kw)
    r2 = tr.phase_diagram(cfg, lat, train, test, **kw)
    for name in ("success", "acc", "final_loss", "first_success"):
        np.testing.assert_array_equal(r1[name], r2[name])
    assert r1["success"].shape == (2, 2, 2, 2, 3) and r1["acc"].shape == (2, 2, 2, 2, 3, 3)
    np.testing.assert_array_equal(r1["rate"], r1["success"] / 3)
    # tau does not enter the squared error: the mse numbers repeat along tau
    np.testing.assert_array_equal(r1["acc"][:, 1, 0], r1["acc"][:, 1, 1])
    # the same inits (seeds) in every cell: the step-0 accuracies agree across lr and optimizer
    np.testing.assert_array_equal(r1["acc"][0, 0, 0, 0, 0], r1["acc"][1, 0, 0, 1, 0])
    k = r1["success"][0, 0, 1, 1, -1]
    assert (r1["ci_lo"][0, 0, 1, 1, -1], r1["ci_hi"][0, 0, 1, 1, -1]) == pytest.approx(_cp(k, 3), abs=1e-12)
    ds = tr.to_xarray(r1)
    assert ds["success"].dims == ("optimizer", "loss", "tau", "lr", "checkpoint")
    paths = tr.write_phase_diagram(r1, tmp_path)
    assert paths["json"].exists() and paths["figure"].exists()
    import json

    back = json.loads(paths["json"].read_text())
    assert back["seeds"] == [0, 1, 2] and back["success"] == r1["success"].tolist()
    assert "adam" in tr.phase_table(r1)


@pytest.mark.slow
def test_exact_init_with_tiny_rate_always_succeeds(sets):
    """From the exact tensors a tiny rate keeps every member at the invariant: rate 1 in every cell and the
    one-sided Clopper-Pearson bound (alpha/2)^(1/S) from scipy."""
    train, test, lat = sets
    cfg = ModelConfig("topo", init="exact", **SMALL)
    S = 4
    r = tr.phase_diagram(cfg, lat, train, test, learning_rates=(1e-7,), steps=(0, 3), optimizers=("adam", "sgd"),
                         taus=(10.0,), seeds=tuple(range(S)), batch_size=8)
    np.testing.assert_array_equal(r["success"], S)
    np.testing.assert_array_equal(r["first_success"], 0)
    np.testing.assert_array_equal(r["median_steps_to_solution"], 0.0)
    lo, hi = _cp(S, S)
    np.testing.assert_allclose(r["ci_lo"], lo, atol=1e-12)
    assert lo == pytest.approx(0.025 ** (1 / S)) and hi == 1.0
    np.testing.assert_allclose(r["ci_hi"], 1.0)


@pytest.mark.slow
def test_lbfgs_regression_returns_to_the_exact_point(sets):
    """The squared error to the exact network's own outputs is zero at the exact tensors, a true minimum:
    full-batch L-BFGS from exact + noise (on the head, or on every parameter) returns to it -- up to topo's
    parameter symmetries (the head weight trades scale with the tensors), so the check is in function
    space: the loss falls by six orders of magnitude and the outputs are the exact invariant again."""
    (x, _), _, lat = sets
    cfg = ModelConfig("topo", task="regress", init="exact", **SMALL)
    model, loss_fn, _ = phase.objective(cfg, lat)
    xx = model.prepare(x)
    exact = [model.init(jax.random.key(s), xx) for s in (0, 1)]
    f0 = model.apply(exact[0], xx)[:, 0]
    assert float(jnp.std(f0)) > 0.1
    rng = np.random.default_rng(0)
    noisy = [dict(p, head=jax.tree_util.tree_map(lambda a: a + 0.05 * rng.standard_normal(a.shape), p["head"]))
             for p in exact]
    noisy += [jax.tree_util.tree_map(lambda a: a + 0.01 * rng.standard_normal(a.shape), p) for p in exact]
    P = ensemble.stack_members(noisy)
    ce = jnp.zeros(4)
    run = tr.train_ensemble(loss_fn, P, (xx, f0), optimizer="lbfgs", steps=(0, 40), aux=ce)
    end = jax.tree_util.tree_map(lambda a: a[-1], run["params"])
    start_loss = run["loss_trace"][:, 0]
    assert np.all(start_loss > 1e-5)
    for s in range(4):
        ps = jax.tree_util.tree_map(lambda a: a[s], end)
        assert float(loss_fn(ps, xx, f0, 0.0)) < 1e-6 * start_loss[s]
        np.testing.assert_allclose(np.asarray(model.apply(ps, xx)[:, 0]), np.asarray(f0), atol=1e-4)


@pytest.mark.slow
def test_regression_head_predicts_an_unseen_winding(sets):
    """fit_regression rounds to the nearest integer: topo's exact regression head trained on windings {0, 1}
    predicts 2 on next-nearest-neighbour chains (W = 2), which a head rounding to {0, 1} cannot."""
    train, _, lat = sets
    xt, yt, _ = _set(12, 5, ranges=(0, 1, 2), t_fixed=(0.1, 0.1, 1.0))
    assert set(np.unique(yt)) == {2.0}
    model = make_model(ModelConfig("topo", task="regress", init="exact", **SMALL), lat)
    r = tr.fit_regression(model, train, (xt, yt), seeds=(0, 1), learning_rate=1e-6, steps=(2,), batch_size=8)
    np.testing.assert_array_equal(r["predicted"], 2.0)
    assert r["acc"].shape == (2, 1) and np.all(r["success"])
    r01 = tr.fit_regression(model, train, (xt, yt), seeds=(0, 1), learning_rate=1e-6, steps=(2,), batch_size=8,
                            round_to=(0, 1))
    np.testing.assert_array_equal(r01["predicted"], 1.0)
    np.testing.assert_allclose(r["output"], 2.0, atol=0.1)
