"""tnn.prune: SVD truncation of dense layers and flattened convolution kernels."""

import numpy as np
import jax
import jax.numpy as jnp
import pytest

import tnn
from tnn import prune
from tnn.study.pruning import accuracy_vs_rank
from tnn.models import ModelConfig, make_model


def _model(name, **kw):
    lat = tnn.lattice.chain(6)
    H = jnp.stack([tnn.hamiltonians.ssh(jnp.asarray([v, 1.0]), lat, ranges=(0, 1)) for v in (0.3, 1.7, 0.6, 1.2)])
    model = make_model(ModelConfig(name, width=6, depth=2, **kw), lat)
    x = model.prepare({"hamiltonian": H})
    return model, model.init(jax.random.key(0), x), H


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_full_rank_is_identity_and_rank_k_gives_rank_k(name):
    model, params, _ = _model(name)
    full = max(prune.matrix_ranks(params).values())
    same = prune.svd_prune(params, full)
    for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(same)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    k = 2
    pruned = prune.svd_prune(params, k)
    n_checked = 0
    for path, a in jax.tree_util.tree_flatten_with_path(pruned)[0]:
        orig = params
        for p in path:
            orig = orig[p.key]
        if a.ndim < 2:
            np.testing.assert_array_equal(a, orig)
            continue
        m = np.asarray(a).reshape(-1, a.shape[-1])  # kernels: im2col view
        s = np.linalg.svd(m, compute_uv=False)
        r = min(m.shape)
        assert np.sum(s > 1e-10 * s[0]) == min(k, r)
        if r > k:  # Eckart-Young: the kept singular values are the original top k
            s0 = np.linalg.svd(np.asarray(orig).reshape(-1, a.shape[-1]), compute_uv=False)
            np.testing.assert_allclose(s[:k], s0[:k], rtol=1e-10)
            n_checked += 1
    assert n_checked >= 2
    if name == "cnn":
        assert params["Conv_0"]["kernel"].ndim == 3  # a convolution kernel was pruned as a matrix


def test_topo_stacks_are_pruned_per_channel():
    lat = tnn.lattice.chain(8)
    model = make_model(ModelConfig("topo", channels=2, fn_width=4, init="random"), lat)
    H = tnn.hamiltonians.ssh(jnp.asarray([0.5, 1.0]), lat, ranges=(0, 1))
    E, V = jnp.linalg.eigh(H)
    params = model.init(jax.random.key(0), {"energies": E[None], "eigenvectors": V[None]})
    w1 = params["kernel"]["mlp"]["w1"]  # (K, 1, width): rank 1 already
    p1 = prune.svd_prune(params, 1)
    np.testing.assert_array_equal(p1["kernel"]["mlp"]["w1"], w1)
    m = p1["head"]["mlp"]["w1"]  # (K, width) matrix
    assert np.linalg.matrix_rank(np.asarray(m), tol=1e-10) == 1


def test_accuracy_vs_rank_and_site_weights():
    model, params, H = _model("mlp")
    y = np.array([1, 0, 1, 0])
    res = accuracy_vs_rank(model, params, ({"hamiltonian": H}, y), ranks=[1, 2, 6])
    assert res["acc"].shape == (3,) and res["max_rank"] == 6
    assert res["acc"][-1] == res["full_acc"]  # rank 6 = full rank of every matrix
    assert prune.smallest_rank([1, 2, 6], [0.2, 0.96, 1.0], 1.0) == 2
    assert prune.smallest_rank([1, 2], [0.2, 0.5], 1.0) is None
    s = prune.input_site_weights(model, params, top=2, edge_cells=1)
    assert s["cell_weights"].shape == (6,)
    assert s["cell_weights"].sum() == pytest.approx(1.0, abs=1e-12)
    assert 0 <= s["edge_fraction"] <= 1 and s["edge_share"] == pytest.approx(2 / 6)


@pytest.mark.parametrize("rank", [0, -1, 1.5, True])
def test_invalid_rank_raises(rank):
    params = {"Dense_0": {"kernel": jnp.ones((4, 3)), "bias": jnp.zeros(3)}}
    with pytest.raises(ValueError, match="`rank`"):
        prune.svd_prune(params, rank)
