"""The public names users, notebooks and external checks rely on, called as they are documented.

The default suite binds every documented call to its function's signature (names and keywords, no
compilation); the ``slow`` tests make one call of each, on small samples, with the shapes and types
promised (docs/conventions.md). A name that moves must keep working here, or warn for one version;
the values themselves are tested against k space and second formulations elsewhere.
"""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tnn


# (function, args, kwargs) as documented; the arrays are placeholders, binding does not look at them
_ARR = object()
CONTRACT = [
    ("enable_x64", (), {}),
    ("lattice.chain", (12,), {"pbc": False}),
    ("lattice.square", (4, 4), {"pbc": False}),
    ("lattice.honeycomb", (4, 4), {"pbc": False}),
    ("lattice.from_sites", (_ARR, _ARR, _ARR), {"box": None}),
    ("lattice.bravais", (_ARR, _ARR, (3, 3)), {"pbc": False}),
    ("hamiltonians.ssh", (_ARR, _ARR), {"ranges": (0, 1), "bond_disorder": 0.0, "onsite_disorder": 0.0, "key": None}),
    ("hamiltonians.qwz", (_ARR, _ARR), {"onsite_disorder": 0.0, "key": None}),
    ("hamiltonians.haldane", (_ARR, _ARR, _ARR, _ARR, _ARR), {"onsite_disorder": 0.0, "key": None}),
    ("hamiltonians.kitaev_chain", (_ARR, _ARR, _ARR, _ARR), {}),
    ("hamiltonians.operator", ("qwz", {}, _ARR), {}),
    ("kspace.winding_number", (_ARR,), {"ranges": (0, 1)}),
    ("kspace.chern_number", ("qwz", {"m": 1.0}), {"nk": 16}),
    ("invariants.winding_number", (_ARR, _ARR), {}),
    ("invariants.local_chern_marker", (_ARR, _ARR), {}),
    ("invariants.chern_number", (_ARR, _ARR), {"method": "marker"}),
    ("invariants.bott_index", (_ARR, _ARR), {}),
    ("localizer.chern_number", (_ARR, _ARR), {"kappa": None, "return_certificate": True}),
    ("localizer.winding_number", (_ARR, _ARR), {"kappa": None}),
    ("kpm.chern_number", (_ARR, _ARR), {"num_moments": 100, "num_vectors": 4, "key": _ARR}),
    ("kpm.local_chern_marker", (_ARR, _ARR, _ARR), {"num_moments": 100}),
    ("kpm.winding_number", (_ARR, _ARR), {}),
    ("landscape.hessian", (_ARR, _ARR), {}),
    ("landscape.hvp", (_ARR, _ARR, _ARR), {}),
    ("landscape.hessian_eigs", (_ARR, _ARR, 1, _ARR), {}),
    ("landscape.spectral_density", (_ARR, _ARR, _ARR), {}),
    ("landscape.slice_1d", (_ARR, _ARR, _ARR, _ARR), {}),
    ("prune.svd_prune", (_ARR, 1), {}),
    ("sweeps.sweep", (_ARR, {}), {"n_keys": 0, "seed": 0, "out": None, "chunk": None}),
]


@pytest.mark.parametrize("name,args,kwargs", CONTRACT, ids=[c[0] for c in CONTRACT])
def test_every_documented_call_binds_to_its_function(name, args, kwargs):
    obj = tnn
    for part in name.split("."):
        obj = getattr(obj, part)
    inspect.signature(obj).bind(*args, **kwargs)


@pytest.mark.slow
def test_lattices_builders_and_kspace():
    chain, sq, hc = tnn.lattice.chain(12), tnn.lattice.square(6, 6), tnn.lattice.honeycomb(6, 6)
    assert (chain.n_sites, sq.n_sites, hc.n_sites) == (24, 72, 72)
    key = jax.random.key(0)
    H = tnn.hamiltonians.ssh(jnp.array([0.5, 1.0]), chain, ranges=(0, 1), bond_disorder=0.1, onsite_disorder=0.0, key=key)
    assert H.shape == (24, 24)
    assert tnn.hamiltonians.qwz(1.0, sq, onsite_disorder=0.1, key=key).shape == (72, 72)
    assert tnn.hamiltonians.haldane(1.0, 0.2, np.pi / 2, 0.0, hc, onsite_disorder=0.0, key=None).shape == (72, 72)
    assert tnn.hamiltonians.kitaev_chain(0.5, 1.0, 0.8, chain).shape == (24, 24)
    assert "ssh" in dir(tnn.hamiltonians) and "winding_number" in dir(tnn.kspace)
    assert tnn.kspace.winding_number(jnp.array([0.5, 1.0]), ranges=(0, 1)) == 1
    assert tnn.kspace.chern_number("qwz", {"m": 1.0}, nk=16) in (-1, 1)
    assert abs(tnn.kspace.chern_number("haldane", {"t1": 1.0, "t2": 0.2, "phi": np.pi / 2, "M": 0.0}, nk=16)) == 1
    user = tnn.lattice.from_sites(chain.positions, chain.site_coords, chain.sublattice, box=None)
    assert user == chain
    assert tnn.lattice.bravais([[1.0, 0.0], [0.5, 0.8]], [[0.0, 0.0]], (3, 3)).n_sites == 9


@pytest.mark.slow
def test_real_space_invariants_localizer_and_kpm():
    chain, sq_o, sq_p = tnn.lattice.chain(40), tnn.lattice.square(10, 10), tnn.lattice.square(8, 8, pbc=True)
    w = tnn.invariants.winding_number(tnn.hamiltonians.ssh(jnp.array([0.5, 1.0]), chain), chain)
    assert float(w) == pytest.approx(1.0, abs=1e-3)
    Ho, Hp = tnn.hamiltonians.qwz(-1.0, sq_o), tnn.hamiltonians.qwz(-1.0, sq_p)
    assert tnn.invariants.local_chern_marker(Ho, sq_o).shape == (10, 10)
    for method in ("marker", "bott", "kitaev"):
        H, lat = (Hp, sq_p) if method == "bott" else (Ho, sq_o)
        assert np.isfinite(float(tnn.invariants.chern_number(H, lat, method=method)))
    assert float(tnn.invariants.bott_index(Hp, sq_p)) == pytest.approx(1.0, abs=1e-6)
    c, cert = tnn.localizer.chern_number(np.asarray(Ho), sq_o, kappa=None, return_certificate=True)
    assert c == 1 and cert.gap > 0
    assert tnn.localizer.winding_number(np.asarray(tnn.hamiltonians.ssh(jnp.array([0.5, 1.0]), chain)), chain, kappa=None) == 1
    op = tnn.hamiltonians.operator("qwz", {"m": -1.0}, sq_o)
    v = jnp.ones((sq_o.n_sites, 2), jnp.complex128)
    np.testing.assert_allclose(np.asarray(op @ v if hasattr(op, "__matmul__") else op(v)), np.asarray(Ho @ v), atol=1e-12)
    cm = tnn.kpm.local_chern_marker(op, sq_o, np.array([[5, 5]]), num_moments=100)
    assert np.all(np.isfinite(np.asarray(cm[0] if isinstance(cm, tuple) else cm)))


@pytest.mark.slow
def test_trainability_prune_and_sweeps():
    feats = jax.random.normal(jax.random.key(2), (120, 80))  # 81 parameters: room for the SLQ's 64 steps
    params = {"a": jnp.zeros(80), "b": jnp.array(0.1)}

    def loss(p):
        return jnp.mean((feats @ p["a"] + p["b"] - 1.0) ** 2)

    key = jax.random.key(1)
    assert tnn.landscape.hessian(loss, params).shape == (81, 81)
    assert jax.tree_util.tree_structure(tnn.landscape.hvp(loss, params, params)) == jax.tree_util.tree_structure(params)
    lo, hi = tnn.landscape.hessian_eigs(loss, params, 1, key)
    assert lo.shape == hi.shape == (1,) and float(lo[0]) <= float(hi[0])
    grid, rho = tnn.landscape.spectral_density(loss, params, key)
    assert float(jnp.sum(rho) * (grid[1] - grid[0])) == pytest.approx(1.0, abs=0.05)
    assert tnn.landscape.slice_1d(loss, params, params, jnp.linspace(-1, 1, 5)).shape == (5,)
    pruned = tnn.prune.svd_prune({"w": jnp.eye(3)}, 1)
    assert jnp.linalg.matrix_rank(pruned["w"]) == 1
    da = tnn.sweeps.sweep(lambda v, w: v * w, {"v": jnp.array([1.0, 2.0]), "w": jnp.array([3.0])}, n_keys=0, seed=0,
                          out=None, chunk=None)
    assert da.dims == ("v", "w") and float(da.sel(v=2.0, w=3.0)) == 6.0
