"""Models: the pure interface, exact topo = the invariant, symmetries, gradients, config checks.

Math checked here:
* topo 1D with the exact initialization computes W = sum_ij K_ij |U_ij|^2 (Mondragon-Shem et al.)
  exactly as tnn.invariants does, on open/periodic chains of several lengths, with chiral disorder;
  topo 2D computes the local Chern marker C(r) = (4 pi / A_cell) Im <r|P X P Y P|r> on the square
  (QWZ) and honeycomb (Haldane) lattices.
* The symmetric net satisfies f(T_g x) = chi(g) f(x) for its group, for random parameters, and the
  characters agree with the physics (checked on the exact invariant itself).
* Gradients of every model equal central finite differences along a random direction.
"""

import dataclasses

import numpy as np
import pytest
import flax
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

import tnn
from tnn import hamiltonians, invariants, results as tres, lattice
from tnn.models import ModelConfig, inputs, make_model, topo

BASELINES = ("mlp", "cnn", "resnet", "symmetric")


# ------------------------------------------------------------------------------------ helpers
def ssh_batch(lat, ratios, bond_disorder=0.0, seed=0):
    t = np.stack([np.asarray(ratios, dtype=float), np.ones(len(ratios))], axis=-1)
    t = t / np.abs(t).max(axis=1, keepdims=True)
    keys = jax.random.split(jax.random.key(seed), len(ratios))
    if bond_disorder:
        return jax.vmap(lambda tt, k: hamiltonians.ssh(tt, lat, bond_disorder=bond_disorder, key=k))(jnp.asarray(t), keys)
    return jax.vmap(lambda tt: hamiltonians.ssh(tt, lat))(jnp.asarray(t))


def eig_features(H):
    E, V = jnp.linalg.eigh(H)
    return {"hamiltonian": H, "energies": E, "eigenvectors": V}


def reflect_chain(H, lat):
    """Mirror n -> L-1-n of a chain Hamiltonian (A stays A, B stays B)."""
    L = lat.n_cells
    site = np.arange(2 * L)
    p = 2 * (L - 1 - site // 2) + site % 2
    return H[..., p[:, None], p[None, :]]


def shift_cells(H, lat, shift):
    """Cyclic translation of every site by ``shift`` cells (periodic lattices)."""
    cc = np.roll(lat.cell_coords, 0, axis=0)
    target = np.mod(cc + np.asarray(shift), np.asarray(lat.dims))
    tcell = np.ravel_multi_index(tuple(target.T), lat.dims)
    p = np.empty(lat.n_sites, dtype=int)
    for c in range(lat.n_cells):
        for o in range(lat.n_orb):
            p[tcell[c] * lat.n_orb + o] = c * lat.n_orb + o
    return H[..., p[:, None], p[None, :]]


@pytest.fixture(scope="module")
def chain_data():
    lat = lattice.chain(8, pbc=True)
    H = ssh_batch(lat, [0.3, 0.6, 1.7, 3.0])
    return lat, eig_features(H)


@pytest.fixture(scope="module")
def square_data():
    lat = lattice.square(4, 4, pbc=False)
    H = jax.vmap(lambda m: hamiltonians.qwz(m, lat))(jnp.asarray([-1.0, 1.0, 3.0]))
    return lat, eig_features(H)


def small_config(name, **kw):
    base = dict(width=4, depth=1, radius=1, channels=2, head_width=3, fn_width=3)
    base.update(kw)
    return ModelConfig(name, **base)


# ------------------------------------------------------------------------------------ interface
@pytest.mark.parametrize("name", BASELINES + ("topo",))
def test_model_contract(name, chain_data):
    """Plain-pytree params, batched (B, n_out) output, float64 throughout, size-agnostic params
    (except the MLP), and gradients equal to central finite differences."""
    lat, feats = chain_data
    cfg = small_config(name, **({"init": "exact_noise", "noise": 0.1} if name == "topo" else {}))
    model = make_model(cfg, lat)
    x = model.prepare(feats)
    assert model.prepare(x) is x  # encoded input passes through
    params = model.init(jax.random.key(0), x)

    def check(tree):
        assert type(tree) is dict
        for v in tree.values():
            check(v) if isinstance(v, dict) else (isinstance(v, jax.Array) or pytest.fail(f"{type(v)}"))

    check(params)
    flat, _ = ravel_pytree(params)
    assert flat.dtype == jnp.float64
    out = model.apply(params, x)
    assert out.shape == (4, 2) and out.dtype == jnp.float64
    _fd_check(model, x, jax.nn.one_hot(jnp.asarray([1, 1, 0, 0]), 2), params=params)
    lat12 = lattice.chain(12, pbc=True)
    m12 = make_model(cfg, lat12)
    x12 = m12.prepare(eig_features(ssh_batch(lat12, [0.5, 2.0])))
    if name == "mlp":  # fixed input size, by design
        with pytest.raises(flax.errors.ScopeParamShapeError):
            m12.apply(params, x12)
    else:  # the 8-cell parameters run on 12 cells
        out12 = np.asarray(m12.apply(params, x12))
        assert out12.shape == (2, 2) and np.all(np.isfinite(out12))


# ------------------------------------------------------------------------------------ encodings
def test_cells_and_chiral_encodings_hold_the_entries():
    lat = lattice.chain(6, pbc=False)
    H = ssh_batch(lat, [0.4], bond_disorder=0.5, seed=3)[0]
    c = inputs.cells(H, lat, radius=1).reshape(6, 3, 2, 2, 2)  # cell, offset, o_to, o_from, part
    # offset index 2 is delta=+1: block H[sites(n+1), sites(n)]
    np.testing.assert_array_equal(c[2, 2, :, :, 0], H[6:8, 4:6])
    np.testing.assert_array_equal(c[5, 2], 0.0)  # leaves the open chain
    ch = inputs.chiral(H, lat, radius=1).reshape(6, 3, 2)  # n, r=-1..1, part
    for n in range(6):
        for k, r in enumerate((-1, 0, 1)):
            want = H[2 * (n + r), 2 * n + 1] if 0 <= n + r < 6 else 0.0
            assert ch[n, k, 0] == want
    # reflection of the encoding = encoding of the reflected chain
    np.testing.assert_array_equal(inputs.reflect_chiral(inputs.chiral(H, lat)), inputs.chiral(reflect_chain(H, lat), lat))
    Hc = hamiltonians.qwz(-1.0, lattice.square(3, 3, pbc=True))
    sq = lattice.square(3, 3, pbc=True)
    np.testing.assert_array_equal(inputs.conjugate_channels(inputs.cells(Hc, sq)), inputs.cells(jnp.conj(Hc), sq))


def test_dataset_feature_encodings():
    """The other tnn.data features: SSH hoppings (B, R+2, L), SSH projector (B, L, L) chiral block,
    density (B, N, N)."""
    lat = lattice.chain(5, pbc=True)
    rng = np.random.default_rng(0)
    hop = rng.normal(size=(3, 4, 5))
    m = make_model(small_config("cnn", input="hoppings"), lat)
    np.testing.assert_array_equal(m.prepare({"hoppings": hop}), np.swapaxes(hop, 1, 2))
    U = rng.normal(size=(3, 5, 5))
    m = make_model(small_config("cnn", input="projector", encoding="chiral"), lat)
    x = np.asarray(m.prepare({"projector": U})).reshape(3, 5, 3, 2)  # n, r = -1..1, (Re, Im)
    np.testing.assert_array_equal(x[:, 2, 2, 0], U[:, 3, 2])  # t_{+1}(2) = U[A_3, B_2]
    rho = rng.uniform(size=(3, 10, 10))
    m = make_model(small_config("mlp", input="density"), lat)
    np.testing.assert_array_equal(m.prepare({"density": rho}), rho.reshape(3, 100))
    m = make_model(small_config("cnn", input="density"), lat)
    assert m.prepare({"density": rho}).shape == (3, 5, 20)
    with pytest.raises(ValueError, match="`input`"):
        make_model(small_config("cnn", input="hoppings"), lattice.square(3, 3))


# ------------------------------------------------------------------------------------ topo exact
@pytest.mark.parametrize("L,pbc", [(8, False), pytest.param(13, False, marks=pytest.mark.slow), (10, True)])
def test_topo_exact_equals_winding_number(L, pbc):
    lat = lattice.chain(L, pbc=pbc)
    ratios = [0.3, 0.8, 1.25, 2.5]
    H = jnp.concatenate([ssh_batch(lat, ratios), ssh_batch(lat, ratios, bond_disorder=1.0, seed=L)])
    feats = eig_features(H)
    cfg = small_config("topo", init="exact", task="regress", channels=3)
    model = make_model(cfg, lat)
    params = model.init(jax.random.key(0), model.prepare(feats))
    f = np.asarray(model.apply(params, model.prepare(feats)))[:, 0]
    trim = topo.trim_cells(lat, cfg.trim)
    ref = np.array([float(invariants.winding_number(h, lat, trim=trim, validity="raw")) for h in H])
    np.testing.assert_allclose(f, ref, atol=1e-8, rtol=0)
    ch = jax.vmap(lambda E, V: topo.channel_values(params, E, V, lat, cfg))(feats["energies"], feats["eigenvectors"])
    np.testing.assert_allclose(ch, np.repeat(ref[:, None], 3, axis=1), atol=1e-8, rtol=0)


@pytest.mark.parametrize(
    "kind,pbc,disorder",
    [("square", False, 0.0), ("square", False, 2.0), ("honeycomb", False, 0.0), ("honeycomb", False, 1.0)],
)
def test_topo_exact_equals_local_chern_marker(kind, pbc, disorder):
    lat = getattr(lattice, kind)(5, 4, pbc=pbc)
    key = jax.random.key(7)
    if kind == "square":
        H = hamiltonians.qwz(-1.0, lat, onsite_disorder=disorder, key=key if disorder else None)
    else:
        H = hamiltonians.haldane(1.0, 0.3, np.pi / 2, 0.2, lat, onsite_disorder=disorder, key=key if disorder else None)
    E, V = jnp.linalg.eigh(H)
    cfg = small_config("topo", init="exact", classes=(-1, 0, 1), channels=2)
    model = make_model(cfg, lat)
    params = model.init(jax.random.key(0), {"energies": E[None], "eigenvectors": V[None]})
    maps = topo.marker_maps(params, E, V, lat)
    ref = np.asarray(invariants.local_chern_marker(H, lat, validity="raw")).reshape(-1)
    for k in range(2):
        np.testing.assert_allclose(maps[k], ref, atol=1e-8, rtol=0)


def test_topo_exact_classifies_perfectly_where_gapped():
    # 1D: periodic chains away from the transition (|log v/w| >= 0.4), clean and chirally disordered.
    lat = lattice.chain(16, pbc=True)
    rng = np.random.default_rng(0)
    r = np.exp(rng.choice([-1, 1], 48) * rng.uniform(0.4, 2.0, 48))
    H = jnp.concatenate([ssh_batch(lat, r), ssh_batch(lat, r, bond_disorder=0.3, seed=1)])
    y = np.concatenate([(r < 1), (r < 1)]).astype(int)
    model = make_model(small_config("topo", init="exact"), lat)
    x = model.prepare(eig_features(H))
    pred = np.asarray(model.apply(model.init(jax.random.key(0), x), x)).argmax(axis=1)
    np.testing.assert_array_equal(pred, y)
    # 2D: QWZ on an open 8x8 sample, C = +1, -1, 0 (labels from k space); bulk-window values
    # are 0.83 (|m| = 1.5) and 0.93 (|m| = 0.5) in size, 1e-3 for |m| = 3.
    sq = lattice.square(8, 8, pbc=False)
    ms = np.array([-1.5, -0.5, 0.5, 1.5, 3.0, -3.0])
    H2 = jax.vmap(lambda m: hamiltonians.qwz(m, sq))(jnp.asarray(ms))
    y2 = np.array([tnn.kspace.chern_number("qwz", {"m": float(m)}) for m in ms])
    m2 = make_model(small_config("topo", init="exact", classes=(-1, 0, 1)), sq)
    x2 = m2.prepare(eig_features(H2))
    pred2 = np.asarray(m2.apply(m2.init(jax.random.key(0), x2), x2)).argmax(axis=1) - 1
    np.testing.assert_array_equal(pred2, y2)


def test_topo_inits(chain_data):
    lat, feats = chain_data
    x = {"energies": feats["energies"], "eigenvectors": feats["eigenvectors"]}
    exact = make_model(small_config("topo", init="exact", task="regress"), lat)
    pe = exact.init(jax.random.key(0), x)
    fe = np.asarray(exact.apply(pe, x))
    noisy = make_model(small_config("topo", init="exact_noise", noise=1e-3, task="regress"), lat)
    pn = noisy.init(jax.random.key(0), x)
    d = ravel_pytree(pn)[0] - ravel_pytree(pe)[0]
    assert 0.5e-3 < float(jnp.std(d)) < 2e-3
    assert np.max(np.abs(np.asarray(noisy.apply(pn, x)) - fe)) < 0.1
    for scale in (0.1, 2.0):
        rnd = make_model(small_config("topo", init="random", init_scale=scale), lat)
        pr = ravel_pytree(rnd.init(jax.random.key(3), x))[0]
        assert 0.7 * scale < float(jnp.std(pr)) < 1.3 * scale
    # a different key changes the random init, the same key reproduces it
    r1 = ravel_pytree(rnd.init(jax.random.key(3), x))[0]
    r2 = ravel_pytree(rnd.init(jax.random.key(4), x))[0]
    assert jnp.array_equal(r1, pr) and not jnp.array_equal(r1, r2)


# ------------------------------------------------------------------------------------ symmetric
def test_symmetric_chain_symmetries():
    # odd L: the minimum image distance has no L/2 tie, so the invariant itself is exactly odd
    # under the mirror (for even L the tie d = -L/2 breaks that by |U_{i, i+L/2}|^2)
    lat = lattice.chain(11, pbc=True)
    H = ssh_batch(lat, [0.4, 0.7, 1.5, 2.5], bond_disorder=0.8, seed=2)
    model = make_model(small_config("symmetric", task="regress", width=6, depth=2), lat)
    params = model.init(jax.random.key(5), model.prepare({"hamiltonian": H}))

    def f(h):
        return np.asarray(model.apply(params, model.prepare({"hamiltonian": h})))[:, 0]

    f0 = f(H)
    assert np.std(f0) > 1e-6  # not trivially constant
    # 1. chiral structure: A-A / B-B entries (onsite disorder) cannot change the output
    onsite = jnp.diag(jnp.asarray(np.random.default_rng(0).uniform(-1, 1, 22)))
    np.testing.assert_allclose(f(H + onsite), f0, atol=1e-12)
    # 2. translation invariance on the periodic chain
    np.testing.assert_allclose(f(shift_cells(H, lat, (3,))), f0, atol=1e-12)
    # 3. global sign: W(-H) = W(H)
    np.testing.assert_allclose(f(-H), f0, atol=1e-12)
    # 4. mirror: W -> -W
    np.testing.assert_allclose(f(reflect_chain(H, lat)), -f0, atol=1e-12)
    # ... and the characters are the physics: the exact invariant transforms the same way
    w = lambda h: np.array([float(invariants.winding_number(x, lat, validity="raw")) for x in h])  # noqa: E731
    W0 = w(H)
    np.testing.assert_allclose(w(-H), W0, atol=1e-8)
    np.testing.assert_allclose(w(reflect_chain(H, lat)), -W0, atol=1e-8)
    np.testing.assert_allclose(w(shift_cells(H, lat, (3,))), W0, atol=1e-8)


def test_symmetric_plane_symmetries():
    lat = lattice.square(4, 4, pbc=True)
    key = jax.random.key(2)
    H = jax.vmap(lambda m, k: hamiltonians.qwz(m, lat, onsite_disorder=1.0, key=k))(
        jnp.asarray([-1.0, 0.7, 2.5]), jax.random.split(key, 3)
    )
    model = make_model(small_config("symmetric", task="regress", width=5), lat)
    params = model.init(jax.random.key(1), model.prepare({"hamiltonian": H}))

    def f(h):
        return np.asarray(model.apply(params, model.prepare({"hamiltonian": h})))[:, 0]

    f0 = f(H)
    assert np.std(f0) > 1e-6
    np.testing.assert_allclose(f(shift_cells(H, lat, (1, 2))), f0, atol=1e-12)
    np.testing.assert_allclose(f(-H), -f0, atol=1e-12)
    np.testing.assert_allclose(f(jnp.conj(H)), -f0, atol=1e-12)
    # physics: the Chern marker of -H and of H* is minus that of H (open sample)
    ob = lattice.square(4, 4, pbc=False)
    Ho = hamiltonians.qwz(-1.0, ob, onsite_disorder=1.0, key=key)
    c = lambda h: np.asarray(invariants.local_chern_marker(h, ob, validity="raw"))  # noqa: E731
    np.testing.assert_allclose(c(-Ho), -c(Ho), atol=1e-8)
    np.testing.assert_allclose(c(jnp.conj(Ho)), -c(Ho), atol=1e-8)


# ------------------------------------------------------------------------------------ gradients
def _fd_check(model, x, y_onehot_or_val, classify=True, seed=0, params=None):
    params = model.init(jax.random.key(seed), x) if params is None else params
    flat, unravel = ravel_pytree(params)

    def loss(v):
        out = model.apply(unravel(v), x)
        if classify:
            return -jnp.mean(jnp.sum(jax.nn.log_softmax(out) * y_onehot_or_val, axis=-1))
        return jnp.mean((out[:, 0] - y_onehot_or_val) ** 2)

    vg = jax.jit(jax.value_and_grad(loss))  # one compilation for the gradient and the FD values
    g = vg(flat)[1]
    assert bool(jnp.all(jnp.isfinite(g)))
    u = jax.random.normal(jax.random.key(seed + 1), flat.shape, flat.dtype)
    u = u / jnp.linalg.norm(u)
    eps = 1e-5
    fd = (vg(flat + eps * u)[0] - vg(flat - eps * u)[0]) / (2 * eps)
    np.testing.assert_allclose(float(g @ u), float(fd), rtol=1e-5, atol=1e-9)


def test_gradients_topo_2d_and_regression(square_data):
    lat, feats = square_data
    model = make_model(small_config("topo", init="random", init_scale=0.3, classes=(-1, 0, 1), task="regress"), lat)
    _fd_check(model, model.prepare(feats), jnp.asarray([1.0, -1.0, 0.0]), classify=False)
    m2 = make_model(small_config("topo", init="random", spectral="tanh", task="regress"), lattice.chain(6, pbc=False))
    H = ssh_batch(m2.lattice, [0.5, 2.0])
    _fd_check(m2, m2.prepare(eig_features(H)), jnp.asarray([1.0, 0.0]), classify=False)


# ------------------------------------------------------------------------------------ configs
@pytest.mark.parametrize(
    "field,value",
    [
        ("name", "transformer"),
        ("task", "cluster"),
        ("classes", (0,)),
        ("classes", (0, 0)),
        ("classes", (0.5, 1)),
        ("width", 0),
        ("depth", -1),
        ("kernel_size", 2.0),
        ("channels", 0),
        ("init", "xavier"),
        ("init_scale", -1.0),
        ("noise", float("nan")),
        ("trim", 0.5),
        ("tau", 0.0),
        ("spectral", "relu"),
        ("encoding", "fourier"),
        ("padding", "reflect"),
        ("dtype", "float16"),
    ],
)
def test_invalid_model_config_names_the_field(field, value):
    name = "topo" if field in ("init_scale", "noise", "spectral") else "cnn"
    kw = {"init": "random"} if field == "init_scale" else {}
    with pytest.raises(ValueError, match=f"`{field}`"):
        make_model(dataclasses.replace(ModelConfig(name, **kw), **{field: value}), lattice.chain(8))


def test_model_config_cross_field_checks():
    lat = lattice.chain(8)
    with pytest.raises(ValueError, match="`init`"):
        make_model(ModelConfig("cnn", init="exact"), lat)
    with pytest.raises(ValueError, match="`input`"):
        make_model(ModelConfig("topo", input="hamiltonian"), lat)
    with pytest.raises(ValueError, match="`noise`"):
        make_model(ModelConfig("topo", init="exact_noise"), lat)
    with pytest.raises(ValueError, match="`encoding`"):
        make_model(ModelConfig("symmetric", encoding="flat"), lat)
    with pytest.raises(ValueError, match="`lat`"):
        make_model(ModelConfig("topo"), None)
    with pytest.raises(ValueError, match="`x`"):
        m = make_model(ModelConfig("topo"), lat)
        m.init(jax.random.key(0), {"energies": jnp.zeros((1, 4)), "eigenvectors": jnp.zeros((1, 4, 4))})
    cfg = ModelConfig("resnet", classes=(0, 1, 2), width=7).validate()
    assert ModelConfig.from_dict(tres.to_jsonable(cfg)) == cfg
    with pytest.raises(ValueError, match="`colour`"):
        ModelConfig.from_dict({"name": "cnn", "colour": 1})
