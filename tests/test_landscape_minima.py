"""The landscape of topo's 1D network modulo its symmetries (issue 19, item 5).

References: ``model.apply`` (the model itself) for the fast forward and for every symmetry;
``tnn.invariants.winding_number`` for the exact point found by ``nearest_exact``; closed forms and
``scipy.optimize`` for the saddle points of the NEB tests; NumPy eigenvalues for the block Hessians.
"""

import json

import numpy as np
import jax
import jax.numpy as jnp
import pytest
import scipy.optimize as so

import tnn
from tnn import results as tres
from tnn.landscape import (BLOCKS, block_hessian, block_masks, canonicalize, cluster_endpoints, exact_distance,
                           nearest_exact, neb, random_symmetry)
from tnn.study.minima import minima_analysis
from tnn.study.topo_chain import invariant_values, outputs
from tnn.lattice import chain
from tnn.models import ModelConfig, make_model

CLASSES = (-1, 0, 1, 2)


def _chains(L, n, seed=0, pbc=False):
    """``n`` clean SSH chains with hoppings (t0, t1, t2) on ranges (0, 1, 2): energies, eigenvectors, H."""
    lat = chain(L, pbc=pbc)
    rng = np.random.default_rng(seed)
    Hs = [np.asarray(tnn.hamiltonians.ssh(rng.uniform(-1.5, 1.5, 3), lat, ranges=(0, 1, 2))) for _ in range(n)]
    E, V = np.linalg.eigh(np.stack(Hs))
    return lat, jnp.asarray(E), jnp.asarray(V), Hs


def _leaves(p):
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(p)]


_canon = jax.jit(canonicalize)
_move = jax.jit(random_symmetry)
_dist = jax.jit(exact_distance)


def _rel(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / max(np.max(np.abs(np.asarray(b))), 1e-300)


CONFIGS = [dict(), dict(spectral="tanh", head_width=0, channels=3), dict(task="regress", channels=3, fn_width=4)]


@pytest.mark.parametrize("kw", CONFIGS)
def test_fast_forward_equals_model_apply(kw):
    lat, E, V, _ = _chains(10, 6)
    cfg = ModelConfig("topo", classes=CLASSES, init="random", **kw).validate()
    model = make_model(cfg, lat)
    x = {"energies": E, "eigenvectors": V}
    p = model.init(jax.random.key(3), x)
    assert _rel(outputs(p, E, V, lat, cfg), model.apply(p, x)) < 1e-12


@pytest.mark.parametrize("kw, pbc", [pytest.param(CONFIGS[0], False, marks=pytest.mark.slow), (CONFIGS[1], True),
                                     pytest.param(CONFIGS[2], False, marks=pytest.mark.slow)])
def test_symmetries_keep_outputs_and_canonical_form(kw, pbc):
    lat, E, V, _ = _chains(10, 6, seed=1, pbc=pbc)
    cfg = ModelConfig("topo", classes=CLASSES, init="random", **kw).validate()
    model = make_model(cfg, lat)
    x = {"energies": E, "eigenvectors": V}
    p = model.init(jax.random.key(7), x)
    ref = np.asarray(model.apply(p, x))
    c0 = _canon(p)
    assert _rel(model.apply(c0, x), ref) < 1e-12
    d0 = float(_dist(p))
    for s in range(4):
        q = _move(jax.random.key(100 + s), p)
        assert max(_rel(a, b) for a, b in zip(_leaves(q), _leaves(p))) > 1e-2  # it moved
        assert _rel(model.apply(q, x), ref) < 1e-12
        cq = _canon(q)
        for a, b in zip(_leaves(cq), _leaves(c0)):
            assert np.max(np.abs(a - b)) <= 1e-12 * max(1.0, np.max(np.abs(b)))
        assert abs(float(_dist(q)) - d0) < 1e-10 * d0


def test_swapping_mixing_rows_is_not_a_symmetry():
    """The test above can fail: a map outside the group (swap the sublattice rows) changes the outputs."""
    lat, E, V, _ = _chains(10, 6, seed=2)
    cfg = ModelConfig("topo", classes=CLASSES, task="regress", init="random").validate()
    model = make_model(cfg, lat)
    x = {"energies": E, "eigenvectors": V}
    p = model.init(jax.random.key(1), x)
    q = {**p, "mixing": p["mixing"][:, ::-1, :]}
    assert _rel(model.apply(q, x), model.apply(p, x)) > 1e-3


@pytest.mark.parametrize("pbc", [pytest.param(False, marks=pytest.mark.slow), pytest.param(True, marks=pytest.mark.slow)])
def test_nearest_exact_point_computes_the_winding_number(pbc):
    lat, E, V, Hs = _chains(24, 5, seed=4, pbc=pbc)
    cfg = ModelConfig("topo", classes=CLASSES, init="random", channels=3).validate()
    p = make_model(cfg, lat).init(jax.random.key(5), {"energies": E, "eigenvectors": V})
    canon, exact = jax.jit(nearest_exact)(p)
    f = np.asarray(jax.jit(invariant_values, static_argnums=4)(exact, E, V, lat, cfg))
    ref = np.array([float(tnn.invariants.winding_number(jnp.asarray(H), lat, validity="raw")) for H in Hs])
    assert np.max(np.abs(f - ref)) < 1e-10
    assert float(_dist(p)) > 0.1
    # the exact init keeps its exact tensors in canonical form, at distance 0, on its whole orbit
    pe = make_model(ModelConfig("topo", classes=CLASSES, init="exact", channels=3), lat).init(jax.random.key(5), {"energies": E, "eigenvectors": V})
    ce = _canon(pe)
    for a, b in ((ce["kernel"]["a"], pe["kernel"]["a"]), (ce["spectral"]["c"], pe["spectral"]["c"]),
                 (ce["mixing"], pe["mixing"]), (ce["head"]["w"], pe["head"]["w"]),
                 (ce["kernel"]["mlp"]["w2"], 0.0), (ce["spectral"]["mlp"]["w2"], 0.0)):
        assert np.max(np.abs(np.asarray(a) - b)) < 1e-14
    assert float(_dist(_move(jax.random.key(9), pe))) < 1e-12


def test_block_masks_partition_and_block_hessian():
    lat, E, V, _ = _chains(8, 2)
    cfg = ModelConfig("topo", classes=CLASSES, init="random").validate()
    p = make_model(cfg, lat).init(jax.random.key(0), {"energies": E, "eigenvectors": V})
    m = block_masks(p)
    assert set(m) == set(BLOCKS)
    stack = np.stack([m[b] for b in BLOCKS])
    assert np.all(stack.sum(0) == 1)
    K, H, Hh = cfg.channels, cfg.fn_width, cfg.head_width
    assert m["kernel"].sum() == K * (1 + 3 * H + 1) and m["mixing"].sum() == K * 2 * lat.n_orb
    assert m["head"].sum() == K + 2 + K * Hh + 2 * Hh + 1
    # a quadratic loss with a known Hessian A: block eigenvalues are those of A's diagonal blocks
    x0, unravel = jax.flatten_util.ravel_pytree(p)
    rng = np.random.default_rng(0)
    B = rng.normal(size=(x0.size, x0.size))
    A = B @ B.T / x0.size - 0.5 * np.eye(x0.size)
    loss = lambda q: 0.5 * jax.flatten_util.ravel_pytree(q)[0] @ jnp.asarray(A) @ jax.flatten_util.ravel_pytree(q)[0]  # noqa: E731
    h = block_hessian(loss, p)
    for b in BLOCKS:
        ref = np.linalg.eigvalsh(A[np.ix_(m[b], m[b])])
        assert np.allclose(h["blocks"][b], ref, atol=1e-10)
    full = np.linalg.eigvalsh(A)
    assert abs(h["full"]["min"] - full[0]) < 1e-10 and abs(h["full"]["max"] - full[-1]) < 1e-10
    assert h["full"]["n_negative"] == int(np.sum(full < 0))


def test_cluster_endpoints_hand_made():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 20))
    F = np.concatenate([base[0] + 1e-3 * rng.normal(size=(5, 20)), base[1] + 1e-3 * rng.normal(size=(3, 20)), base[2][None]])
    P = rng.normal(size=(9, 7))
    P[1:5] = P[0]  # the five of the first function share one canonical point
    losses = np.arange(9.0)[::-1]
    out = cluster_endpoints(F, P, losses, tol_f=0.05, tol_p=0.05)
    sizes = [len(c["members"]) for c in out["clusters"]]
    assert sizes == [5, 3, 1]
    assert out["clusters"][0]["representative"] == 4 and out["clusters"][1]["representative"] == 7
    assert out["clusters"][0]["param_clusters"] == 1 and out["clusters"][1]["param_clusters"] == 3
    assert out["n_param_clusters"] == 5
    with pytest.raises(ValueError, match="tol_f"):
        cluster_endpoints(F, P, losses, tol_f=0.0)


# ------------------------------------------------------------------------------------------- NEB
def _dw(p):
    """Double well with a curved valley: minima (+-1, 1/2) at 0, saddle (0, 0) at 1; the straight
    line between the minima (y = 1/2) peaks at 1 + 4 (1/2)^2 = 2."""
    return (p["x"] ** 2 - 1) ** 2 + 4.0 * (p["y"] - 0.5 * p["x"] ** 2) ** 2


def test_neb_double_well_saddle_and_determinism():
    a, b = {"x": jnp.asarray(-1.0), "y": jnp.asarray(0.5)}, {"x": jnp.asarray(1.0), "y": jnp.asarray(0.5)}
    kw = dict(n_images=12, steps=2000, spring=1.0, dt=0.01, max_step=0.05, fmax=1e-6)
    r = neb(_dw, a, b, **kw)
    assert r["converged"]
    assert abs(r["barrier"] - 1.0) < 1e-8
    assert np.max(np.abs(r["images"][r["saddle_index"]])) < 1e-4
    assert abs(r["line_barrier"] - 2.0) < 1e-12 and r["barrier"] < r["line_barrier"]
    r2 = neb(_dw, a, b, **kw)
    assert np.array_equal(r["images"], r2["images"]) and r["steps_run"] == r2["steps_run"]
    # without the climbing image the top image need not sit on the saddle: the band is below it
    r3 = neb(_dw, a, b, **{**kw, "climbing": False, "n_images": 4})
    assert r3["barrier"] <= 1.0 + 1e-12
    with pytest.raises(ValueError, match="n_images"):
        neb(_dw, a, b, n_images=0)


_MB = dict(A=np.array([-200.0, -100.0, -170.0, 15.0]), a=np.array([-1.0, -1.0, -6.5, 0.7]),
           b=np.array([0.0, 0.0, 11.0, 0.6]), c=np.array([-10.0, -10.0, -6.5, 0.7]),
           x0=np.array([1.0, 0.0, -0.5, -1.0]), y0=np.array([0.0, 0.5, 1.5, 1.0]))


def _mueller_brown(p):
    """Mueller & Brown, Theor. Chim. Acta 53, 75 (1979)."""
    dx, dy = p["x"] - _MB["x0"], p["y"] - _MB["y0"]
    return jnp.sum(_MB["A"] * jnp.exp(_MB["a"] * dx**2 + _MB["b"] * dx * dy + _MB["c"] * dy**2))


def test_neb_mueller_brown_finds_the_saddle():
    f = lambda v: float(_mueller_brown({"x": v[0], "y": v[1]}))  # noqa: E731
    g = lambda v: np.asarray(jax.grad(lambda q: _mueller_brown({"x": q[0], "y": q[1]}))(jnp.asarray(v)))  # noqa: E731
    mA = so.minimize(f, [-0.55, 1.44], jac=g, tol=1e-12).x
    mB = so.minimize(f, [0.62, 0.03], jac=g, tol=1e-12).x
    s1 = so.root(g, [-0.82, 0.62], tol=1e-14).x
    hs = np.asarray(jax.hessian(lambda q: _mueller_brown({"x": q[0], "y": q[1]}))(jnp.asarray(s1)))
    assert np.sum(np.linalg.eigvalsh(hs) < 0) == 1  # a first-order saddle
    r = neb(_mueller_brown, {"x": jnp.asarray(mA[0]), "y": jnp.asarray(mA[1])},
            {"x": jnp.asarray(mB[0]), "y": jnp.asarray(mB[1])}, n_images=12, steps=1000, spring=10.0, dt=1e-4,
            max_step=0.02, fmax=1e-3)
    assert abs(r["barrier"] - (f(s1) - f(mA))) < 1e-4
    assert np.max(np.abs(r["images"][r["saddle_index"]] - s1)) < 1e-3
    assert r["barrier"] < r["line_barrier"] - 10.0


# ------------------------------------------------------------------------------------------- driver
@pytest.mark.slow
def test_minima_analysis_smoke_json_and_determinism(tmp_path):
    from tnn.study.minima import write_minima

    lat, E, V, _ = _chains(12, 40, seed=3)
    y = np.array([tnn.kspace.winding_number(t, ranges=(0, 1, 2)) for t in np.random.default_rng(3).uniform(-1.5, 1.5, (40, 3))])
    keep = np.isin(y, CLASSES)
    feats = {"energies": np.asarray(E)[keep], "wavefunctions": np.asarray(V)[keep]}
    n = int(keep.sum())
    tr = ({k: v[: n // 2] for k, v in feats.items()}, y[keep][: n // 2])
    te = ({k: v[n // 2:] for k, v in feats.items()}, y[keep][n // 2:])
    cfg = ModelConfig("topo", classes=CLASSES)
    kw = dict(n_inits=4, n_fit=12, steps=30, n_probe=8, max_hessians=1, n_images=4, neb_steps=10)
    r = minima_analysis(cfg, lat, tr, te, **kw)
    json.dumps(tres.to_jsonable(r))
    assert sum(c["size"] for c in r["clusters"]) == 4 and r["n_clusters"] == len(r["clusters"])
    assert set(r["clusters"][0]["hessian"]["blocks"]) == set(BLOCKS)
    r2 = minima_analysis(cfg, lat, tr, te, **kw)
    assert [e["loss"] for e in r["endpoints"]] == [e["loss"] for e in r2["endpoints"]]
    paths = write_minima(r, tmp_path)
    assert paths["json"].exists()
    with pytest.raises(ValueError, match="model_config"):
        minima_analysis(ModelConfig("cnn", classes=CLASSES), lat, tr, te)
