"""tnn.probes: the edge-potential construction and the proxy probe sets."""

import numpy as np
import jax
import jax.numpy as jnp
import pytest

import tnn
from tnn import probes
from tnn.models import ModelConfig, make_model


def test_edge_potential_keeps_bulk_winding_and_moves_edge_modes():
    # W = 1 chain (v = 0.5, w = 1.5): two edge modes at |E| ~ 1e-10, bulk gap 2 |w - v| = 2
    lat = tnn.lattice.chain(40)
    H0 = tnn.hamiltonians.ssh(jnp.asarray([0.5, 1.5]), lat, ranges=(0, 1))
    E0 = np.linalg.eigvalsh(np.asarray(H0))
    assert np.sort(np.abs(E0))[1] < 1e-8
    # in the gap (same sign at both ends), and pushed into the bands (opposite signs, so that half
    # filling stays gapped; the same sign would put both modes above the Fermi level)
    for mu in (0.6, -0.6, (3.0, -3.0)):
        H = probes.edge_potential(H0, lat, jnp.asarray(mu))
        E = np.linalg.eigvalsh(np.asarray(H))
        # the edge modes left zero energy: nothing within 0.1 of E = 0 any more
        assert np.abs(E).min() > 0.1, (mu, np.sort(np.abs(E))[:3])
        # the bulk winding (bulk trace of Q = sign(H), H no longer chiral at the edges) is still 1
        w = float(tnn.invariants.winding_number(H, lat, method="eigh"))
        assert abs(w - 1.0) < 0.01, (mu, w)
        # and the bulk is untouched: H differs from H0 on the edge cells' diagonal only
        d = np.asarray(H - H0)
        assert np.count_nonzero(d) == 4 and np.allclose(np.diag(d)[[0, 1, 78, 79]], np.repeat(np.broadcast_to(mu, (2,)), 2))
    # a trivial chain stays trivial, and (left, right) potentials are separate
    Ht = probes.edge_potential(tnn.hamiltonians.ssh(jnp.asarray([1.5, 0.5]), lat, ranges=(0, 1)), lat, jnp.asarray([0.6, -0.2]))
    assert abs(float(tnn.invariants.winding_number(Ht, lat, method="eigh"))) < 0.01
    assert float(Ht[0, 0]) == 0.6 and float(Ht[79, 79]) == -0.2


def test_proxy_sets_and_saliency():
    rng = np.random.default_rng(0)
    L, ranges, classes = 16, (0, 1), (0, 1)
    # Deep in the phases (|v/w| or |w/v| <= 1/2): certified on 16 cells (tnn.validity), open and periodic.
    small, large = rng.uniform(0.2, 0.5, 12), rng.uniform(1.0, 1.7, 12)
    t = np.stack([np.where(np.arange(12) < 6, small, large), np.where(np.arange(12) < 6, large, small)], axis=1)
    # six topological chains (w > v), six trivial ones
    pd = probes.proxy_disagreeing(t, L, ranges, classes, mu=0.7)
    topo = pd["y"] == 1
    assert topo.sum() >= 4 and pd["changed"] == 0 and pd["invalid"] == 0
    assert np.all(pd["zero_modes_before"][:6] == 2) and np.all(pd["zero_modes_after"] == 0)
    per = probes.periodic_versions(t, L, ranges, classes)
    lat = tnn.lattice.chain(L)
    H = jax.vmap(lambda ti: tnn.hamiltonians.ssh(ti, lat, ranges=ranges))(jnp.asarray(t))
    assert per["dropped"] == 0 and per["lat"].pbc
    np.testing.assert_array_equal(per["y"], (t[:, 1] > t[:, 0]).astype(float))
    feats = probes.chain_features(H)
    masked = probes.mask_edges(feats, lat, 2)
    assert np.all(masked["hamiltonian"][:, :4] == 0) and np.all(masked["wavefunctions"][:, -4:] == 0)
    np.testing.assert_array_equal(masked["hamiltonian"][:, 4:-4, 4:-4], feats["hamiltonian"][:, 4:-4, 4:-4])
    cut = probes.cut_edges(feats, (t[:, 1] > t[:, 0]).astype(float), lat, 2, classes)
    assert cut["lat"].n_cells == L - 4 and cut["x"]["hamiltonian"].shape[1:] == (2 * (L - 4),) * 2
    model = make_model(ModelConfig("cnn", width=4, depth=1), lat)
    params = model.init(jax.random.key(0), model.prepare({"hamiltonian": H[:1]}))
    sal = probes.saliency(model, params, {"hamiltonian": feats["hamiltonian"]}, (t[:, 1] > t[:, 0]).astype(float))
    assert sal["saliency"].shape == (2, L)
    np.testing.assert_allclose(np.nansum(sal["saliency"], axis=1), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="`edge_cells`"):
        probes.mask_edges(feats, lat, 0)
    with pytest.raises(ValueError, match="`mu`"):
        probes.edge_potential(H, lat, jnp.ones(3))
