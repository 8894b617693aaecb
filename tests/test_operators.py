"""Matrix-free Hamiltonians (tnn.operators, tnn.hamiltonians.operator): every engine equals the dense
product on every system, open and periodic, with disorder; jit and vmap take them."""

import numpy as np
import jax
import jax.numpy as jnp
import pytest
import scipy.sparse as sps
from jax.experimental import sparse as jsparse

from tnn import hamiltonians as hm
from tnn import lattice, operators

KEY = jax.random.key(7)

# (model, params, lattice maker, disorder kwargs)
SYSTEMS = {
    "ssh": ("ssh", {"t": jnp.array([0.7, 1.1])}, lambda pbc: lattice.chain(9, pbc=pbc),
            dict(bond_disorder=0.6, onsite_disorder=0.4, key=KEY)),
    "ssh-long": ("ssh", {"t": jnp.array([0.7, 1.1, 0.3])}, lambda pbc: lattice.chain(9, pbc=pbc),
                 dict(ranges=(0, 1, -2), bond_disorder=0.5, key=KEY)),
    "qwz": ("qwz", {"m": -1.2}, lambda pbc: lattice.square(5, 4, pbc=pbc), dict(onsite_disorder=1.5, key=KEY)),
    "haldane": ("haldane", {"t1": 1.0, "t2": 0.3, "phi": 0.7, "M": 0.2}, lambda pbc: lattice.honeycomb(4, 5, pbc=pbc),
                dict(onsite_disorder=1.0, key=KEY)),
    "kitaev": ("kitaev", {"mu": 0.5, "t": 1.0, "delta": 0.7}, lambda pbc: lattice.chain(7, pbc=pbc),
               dict(mu_disorder=1.0, key=KEY)),
}


def _vectors(n, k, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n,) if k is None else (n, k)
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


@pytest.mark.parametrize("name", sorted(SYSTEMS))
@pytest.mark.parametrize("pbc", [False, True])
def test_every_engine_equals_the_dense_product(name, pbc):
    model, params, make, kw = SYSTEMS[name]
    lat = make(pbc)
    H = np.asarray(hm.sparse(model, params, lat, **kw).todense())
    ops = {
        "default": hm.operator(model, params, lat, **kw),
        "bonds": hm.operator(model, params, lat, engine="bonds", **kw),
        "scipy": hm.as_operator(sps.csr_matrix(H)),
        "bcoo": hm.as_operator(hm.sparse(model, params, lat, **kw)),
        "dense": hm.as_operator(H),
    }
    assert ops["default"].engine == "stencil"
    assert ops["bcoo"].engine == ops["scipy"].engine == "bonds"
    for k in (None, 3):
        v = _vectors(lat.n_sites, k)
        want = H @ v
        for engine, op in ops.items():
            got = np.asarray(op @ v)
            assert got.shape == want.shape, engine
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=f"{name} pbc={pbc} {engine}")
    # the dense builder itself (not only the sparse one) agrees
    np.testing.assert_allclose(np.asarray(ops["default"].todense()), H, atol=1e-12)


def test_stencil_is_the_default_engine_and_real_vectors_work():
    lat = lattice.honeycomb(6, 6, pbc=True)
    op = hm.operator("haldane", {"t1": 1.0, "t2": 0.2, "phi": np.pi / 2, "M": 0.1}, lat)
    assert op.engine == "stencil" and op.shape == (lat.n_sites, lat.n_sites)
    H = np.asarray(hm.haldane(1.0, 0.2, np.pi / 2, 0.1, lat))
    v = np.random.default_rng(1).normal(size=lat.n_sites)
    np.testing.assert_allclose(np.asarray(op(v)), H @ v, atol=1e-12)


def test_jit_and_vmap_over_parameters_and_keys():
    lat = lattice.square(6, 5)
    v = jnp.asarray(_vectors(lat.n_sites, 2))

    @jax.jit
    def apply(m, w, key):
        return hm.operator("qwz", {"m": m}, lat, onsite_disorder=w, key=key) @ v

    ms = jnp.array([-1.0, 0.5, 2.5])
    keys = jax.random.split(KEY, 3)
    out = jax.vmap(apply, in_axes=(0, None, 0))(ms, 0.8, keys)
    for i in range(3):
        H = np.asarray(hm.qwz(ms[i], lat, onsite_disorder=0.8, key=keys[i]))
        np.testing.assert_allclose(np.asarray(out[i]), H @ np.asarray(v), atol=1e-12)
    # operators are pytrees: a stack of them maps under vmap, a new value does not recompile
    ops = jax.vmap(lambda m: hm.operator("qwz", {"m": m}, lat))(ms)
    prod = jax.jit(lambda op, x: op @ x)
    got = jax.vmap(prod, in_axes=(0, None))(ops, v)
    np.testing.assert_allclose(np.asarray(got[1]), np.asarray(hm.qwz(0.5, lat)) @ np.asarray(v), atol=1e-12)
    op = hm.operator("qwz", {"m": 1.0}, lat)
    prod(op, v)
    n = prod._cache_size()
    prod(hm.operator("qwz", {"m": 1.7}, lat), v)
    assert prod._cache_size() == n


def test_gradient_through_the_product():
    lat = lattice.chain(8)
    v = jnp.asarray(_vectors(lat.n_sites, None).real)

    def f(t):
        return jnp.sum((hm.operator("ssh", {"t": t}, lat) @ v) ** 2)

    def g(t):
        return jnp.sum((hm.ssh(t, lat) @ v) ** 2)

    t = jnp.array([0.4, 1.3])
    np.testing.assert_allclose(np.asarray(jax.grad(f)(t)), np.asarray(jax.grad(g)(t)), atol=1e-12)


def test_scaled_and_gershgorin():
    lat = lattice.square(5, 5)
    op = hm.operator("qwz", {"m": -0.7}, lat, onsite_disorder=2.0, key=KEY)
    H = np.asarray(op.todense())
    ev = np.linalg.eigvalsh(H)
    lo, hi = (float(x) for x in op.gershgorin())
    assert lo <= ev[0] and hi >= ev[-1]
    v = _vectors(lat.n_sites, 2)
    np.testing.assert_allclose(np.asarray(op.scaled(0.5, -0.3) @ v), 0.5 * H @ v - 0.3 * v, atol=1e-12)
    for wrapped in (hm.as_operator(sps.csr_matrix(H)), hm.as_operator(H)):
        lo2, hi2 = (float(x) for x in wrapped.gershgorin())
        assert lo2 <= ev[0] and hi2 >= ev[-1]
        np.testing.assert_allclose(np.asarray(wrapped.scaled(2.0, 1.0) @ v), 2 * H @ v + v, atol=1e-12)


def test_bcoo_with_duplicates_and_a_user_pattern():
    # a user's Hamiltonian with a vacancy: any pattern, duplicates summed as the matrix does
    rng = np.random.default_rng(3)
    n = 12
    rows = np.array([0, 1, 1, 5, 5, 11, 3])
    cols = np.array([1, 0, 0, 7, 7, 2, 3])
    vals = rng.normal(size=rows.size)
    M = jsparse.BCOO((jnp.asarray(vals), jnp.asarray(np.stack([rows, cols], 1))), shape=(n, n))
    dense = np.zeros((n, n))
    np.add.at(dense, (rows, cols), vals)
    v = _vectors(n, 2)
    np.testing.assert_allclose(np.asarray(operators.as_operator(M) @ v), dense @ v, atol=1e-13)
    np.testing.assert_allclose(np.asarray(operators.as_operator(sps.coo_matrix((vals, (rows, cols)), (n, n))) @ v),
                               dense @ v, atol=1e-13)
    # the wrapped operator goes through jit as a pytree (values traced, pattern static)
    out = jax.jit(lambda o, x: o @ x)(operators.as_operator(M), v)
    np.testing.assert_allclose(np.asarray(out), dense @ v, atol=1e-13)


def test_bad_input():
    lat = lattice.square(3, 3)
    op = hm.operator("qwz", {"m": 1.0}, lat)
    with pytest.raises(ValueError, match="`v`"):
        op @ jnp.ones(5)
    with pytest.raises(ValueError, match="`engine`"):
        hm.operator("qwz", {"m": 1.0}, lat, engine="gather")
    with pytest.raises(ValueError, match="`params`"):
        hm.operator("qwz", {"mass": 1.0}, lat)
    with pytest.raises(ValueError, match="`H`"):
        hm.as_operator(np.ones((3, 4)))
    with pytest.raises(ValueError, match="`key`"):
        hm.operator("qwz", {"m": 1.0}, lat, onsite_disorder=1.0)
    M = hm.sparse("qwz", {"m": 1.0}, lat)
    with pytest.raises(ValueError, match="traced indices"):
        jax.jit(lambda idx: hm.as_operator(jsparse.BCOO((M.data, idx), shape=M.shape)) @ jnp.ones(18))(M.indices)
