"""tnn.landscape: Hessians, HVPs, Lanczos extremes, SLQ density, slices (float64, strict JAX)."""

import numpy as np
import jax
import jax.numpy as jnp
import pytest
from jax.flatten_util import ravel_pytree

import tnn
from tnn import landscape
from tnn.models import ModelConfig, make_model
from tnn.train import encode_labels, make_loss


def _ssh_batch(L, n, seed=0, pbc=False):
    """``n`` standard SSH chains (v, w) uniform in [0.1, 1.5]: Hamiltonians, eigensystems, windings."""
    rng = np.random.default_rng(seed)
    lat = tnn.lattice.chain(L, pbc=pbc)
    t = rng.uniform(0.1, 1.5, size=(n, 2))
    H = np.stack([np.asarray(tnn.hamiltonians.ssh(jnp.asarray(ti), lat, ranges=(0, 1))) for ti in t])
    E, V = np.linalg.eigh(H)
    y = (np.abs(t[:, 1]) > np.abs(t[:, 0])).astype(np.float64)
    return lat, {"hamiltonian": H, "energies": E, "wavefunctions": V}, y


def _loss_of(model, feats, y, key=0):
    x = model.prepare(feats)
    t = jnp.asarray(encode_labels(model.config, y))
    params = model.init(jax.random.key(key), x)
    base = make_loss(model)
    return (lambda p: base(p, x, t)), params


@pytest.fixture(scope="module")
def mlp_loss():
    # a model with a few hundred parameters: 72 inputs -> 3 -> 2
    lat, feats, y = _ssh_batch(3, 12)
    model = make_model(ModelConfig("mlp", width=3, depth=1), lat)
    return _loss_of(model, feats, y)


@pytest.mark.slow
def test_hvp_equals_full_hessian_times_vector(mlp_loss):
    loss, params = mlp_loss
    x0, unravel = ravel_pytree(params)
    Hm = landscape.hessian(loss, params)
    assert Hm.shape == (x0.size, x0.size) and Hm.dtype == jnp.float64
    np.testing.assert_allclose(Hm, Hm.T, atol=1e-12)
    v = jax.random.normal(jax.random.key(1), x0.shape, x0.dtype)
    hv = landscape.hvp(loss, params, unravel(v))
    assert jax.tree_util.tree_structure(hv) == jax.tree_util.tree_structure(params)
    np.testing.assert_allclose(ravel_pytree(hv)[0], Hm @ v, rtol=0, atol=1e-10)
    # a flat vector is accepted as well, and jit changes nothing
    hv_flat = jax.jit(lambda p, u: landscape.hvp(loss, p, u))(params, v)
    np.testing.assert_allclose(ravel_pytree(hv_flat)[0], Hm @ v, rtol=0, atol=1e-10)


@pytest.fixture(scope="module")
def dense_mlp_loss():
    # dense random inputs: a Hessian of nearly full rank (211 of 217), unlike the SSH-input MLP
    # above (sparse Hamiltonian entries: rank 13, where the Krylov space closes after 14 steps)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((64, 40)))
    t = jnp.asarray(rng.integers(0, 2, 64).astype(np.int32))
    model = make_model(ModelConfig("mlp", width=5, depth=1), None)
    params = model.init(jax.random.key(0), x)
    base = make_loss(model)
    return (lambda p: base(p, x, t)), params


@pytest.mark.parametrize("case", ["mlp_loss", pytest.param("dense_mlp_loss", marks=pytest.mark.slow)])
def test_lanczos_extremes_equal_eigh(case, request):
    loss, params = request.getfixturevalue(case)
    P = ravel_pytree(params)[0].size
    assert 200 <= P <= 400
    ev = np.linalg.eigvalsh(np.asarray(landscape.hessian(loss, params)))
    k = 3
    lo, hi = jax.jit(lambda p, key: landscape.hessian_eigs(loss, p, k, key, num_steps=120))(params, jax.random.key(2))
    assert lo.shape == hi.shape == (k,)
    assert np.all(np.diff(lo) >= 0) and np.all(np.diff(hi) >= 0)
    scale = np.abs(ev).max()
    np.testing.assert_allclose(hi, ev[-k:], rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(lo, ev[:k], rtol=0, atol=1e-9 * scale)


def _quadratic(P=30, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((P, P)))
    lam = np.concatenate([np.linspace(-2.0, -0.5, 5), np.linspace(0.1, 10.0, P - 5)])
    A = (Q * lam) @ Q.T
    A = 0.5 * (A + A.T)
    b = rng.standard_normal(P)
    params = {"w": jnp.asarray(rng.standard_normal((5, 4))), "b": jnp.asarray(rng.standard_normal(P - 20))}

    def loss(p):
        x = ravel_pytree(p)[0]
        return 0.5 * x @ jnp.asarray(A) @ x + jnp.asarray(b) @ x + 3.0

    return loss, params, A, np.sort(lam)


def test_known_quadratic_hessian_recovered_exactly():
    loss, params, A, lam = _quadratic()
    np.testing.assert_allclose(landscape.hessian(loss, params), A, rtol=0, atol=1e-13)
    lo, hi = landscape.hessian_eigs(loss, params, 4, jax.random.key(0), num_steps=30)
    np.testing.assert_allclose(lo, lam[:4], atol=1e-10)
    np.testing.assert_allclose(hi, lam[-4:], atol=1e-10)
    tr = landscape.hessian_trace(loss, params, jax.random.key(1), num_probes=4000)
    assert abs(float(tr) - np.trace(A)) < 0.05 * np.abs(A).sum() ** 0.5 * 10
    s = landscape.curvature_summary(np.linalg.eigvalsh(A))
    assert s["top"] == pytest.approx(10.0) and s["smallest_positive"] == pytest.approx(0.1)
    assert s["condition"] == pytest.approx(100.0) and s["negative_fraction"] == pytest.approx(5 / 30)


def test_spectral_density_integrates_to_one_and_covers_extremes():
    loss, params, A, lam = _quadratic()
    grid, rho = landscape.spectral_density(loss, params, jax.random.key(3), num_steps=30, num_probes=6)
    assert grid.shape == rho.shape == (512,)
    assert float(jnp.trapezoid(rho, grid)) == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.asarray(rho) >= 0)
    assert grid[0] <= lam[0] and grid[-1] >= lam[-1]
    # the density is visibly nonzero at both extreme eigenvalues
    at = np.interp([lam[0], lam[-1]], np.asarray(grid), np.asarray(rho))
    assert np.all(at > 1e-3 * float(rho.max()))
    # SLQ: the weights sum to 1 per probe, and sum tau theta estimates tr(A)/P
    nodes, w = landscape.slq(loss, params, jax.random.key(4), num_steps=30, num_probes=200)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)
    assert float((w * nodes).sum(axis=1).mean()) == pytest.approx(np.trace(A) / 30, abs=0.3)


def test_slice_to_exact_topo_reaches_exact_loss():
    lat, feats, y = _ssh_batch(12, 8, seed=1)
    exact = make_model(ModelConfig("topo", channels=1, head_width=0, fn_width=2, init="exact"), lat)
    rand = make_model(ModelConfig("topo", channels=1, head_width=0, fn_width=2, init="random"), lat)
    loss, p_exact = _loss_of(exact, feats, y, key=5)
    p_init = rand.init(jax.random.key(5), exact.prepare(feats))
    d = jax.tree_util.tree_map(lambda a, b: a - b, p_exact, p_init)
    alphas = jnp.linspace(0.0, 1.0, 11)
    losses = landscape.slice_1d(loss, p_init, d, alphas)
    assert losses.shape == (11,)
    assert float(losses[-1]) == pytest.approx(float(loss(p_exact)), abs=1e-12)
    assert float(losses[0]) == pytest.approx(float(loss(p_init)), abs=1e-12)
    line = landscape.line_barrier(loss, p_init, p_exact, n=11)
    np.testing.assert_allclose(line["losses"], losses, atol=1e-12)
    assert line["barrier"] >= 0 and line["end_loss"] == pytest.approx(float(loss(p_exact)), abs=1e-12)


def test_filter_normalized_direction_and_slice_2d(mlp_loss):
    loss, params = mlp_loss
    d = landscape.random_direction(jax.random.key(0), params)
    k = params["Dense_0"]["kernel"]
    dk = d["Dense_0"]["kernel"]
    np.testing.assert_allclose(jnp.linalg.norm(dk, axis=0), jnp.linalg.norm(k, axis=0), rtol=1e-12)
    np.testing.assert_allclose(jnp.linalg.norm(d["Dense_0"]["bias"]), jnp.linalg.norm(params["Dense_0"]["bias"]), rtol=1e-12)
    z = landscape.random_direction(jax.random.key(0), params, ignore_1d=True)
    assert float(jnp.abs(z["Dense_0"]["bias"]).max()) == 0.0
    d2 = landscape.random_direction(jax.random.key(1), params)
    a = jnp.linspace(-1, 1, 3)
    s2 = landscape.slice_2d(loss, params, d, d2, a, jnp.linspace(-1, 1, 4))
    assert s2.shape == (3, 4)
    assert float(s2[1, 1]) == pytest.approx(float(loss(jax.tree_util.tree_map(lambda p, q: p - q / 3, params, d2))), abs=1e-12)
    np.testing.assert_allclose(s2[:, 0], landscape.slice_1d(loss, jax.tree_util.tree_map(lambda p, q: p - q, params, d2), d, a), atol=1e-12)


def test_invalid_arguments_name_the_argument(mlp_loss):
    loss, params = mlp_loss
    P = ravel_pytree(params)[0].size
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="`k`"):
        landscape.hessian_eigs(loss, params, P + 1, key)
    with pytest.raises(ValueError, match="`k`"):
        landscape.hessian_eigs(loss, params, 0, key)
    with pytest.raises(ValueError, match="`num_steps`"):
        landscape.hessian_eigs(loss, params, 5, key, num_steps=3)
    with pytest.raises(ValueError, match="`direction`"):
        landscape.slice_1d(loss, params, jnp.ones(P + 1), jnp.linspace(0, 1, 3))
    with pytest.raises(ValueError, match="`direction`"):
        landscape.slice_1d(loss, params, {"Dense_0": params["Dense_0"]}, jnp.linspace(0, 1, 3))
    with pytest.raises(ValueError, match="`alphas`"):
        landscape.slice_1d(loss, params, jnp.ones(P), jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="`v`"):
        landscape.hvp(loss, params, jnp.ones(3))
    with pytest.raises(ValueError, match="`sigma`"):
        landscape.spectral_density(loss, params, key, num_steps=10, sigma=-1.0)
    with pytest.raises(ValueError, match="`loss`"):
        landscape.hessian(3.0, params)
