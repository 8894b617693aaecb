"""tnn.study.probes: the edge-potential construction and the proxy probe sets."""

import numpy as np
import jax
import jax.numpy as jnp
import pytest

import tnn
from tnn.study import probes
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


@pytest.mark.slow
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


# ------------------------------------------------------------------------------------ issue 19, item 3
def _chains(ratios, L, dis=0.0, seed=0):
    lat = tnn.lattice.chain(L)
    keys = jax.random.split(jax.random.key(seed), len(ratios))
    H = jnp.stack([tnn.hamiltonians.ssh(jnp.asarray([r, 1.0]), lat, bond_disorder=dis, key=k if dis else None)
                   for r, k in zip(ratios, keys)])
    y = np.asarray([tnn.kspace.winding_number([r, 1.0]) for r in ratios], dtype=float)
    return lat, H, y


def test_ssh_xi_is_the_decay_length_of_sign_h():
    """xi = 1 / min_k |ln|z_k||: |U_{0, d}| of a long periodic chain decays as exp(-d / xi)."""
    tnn.enable_x64()
    assert probes.ssh_xi([0.5, 1.0]) == pytest.approx(1 / np.log(2), rel=1e-12)
    L = 300
    lat = tnn.lattice.chain(L, pbc=True)
    for t, ranges in (((0.5, 1.0), (0, 1)), ((0.3, 1.0, 0.6), (0, 1, 2)), ((1.0, 0.45), (0, -1))):
        H = tnn.hamiltonians.ssh(jnp.asarray(t), lat, ranges=ranges)
        U = np.asarray(tnn.invariants.polar_factor(H[0::2, 1::2]))
        xi = probes.ssh_xi(t, ranges)
        # log|U| = c - d / xi - a log d (a branch point of q/|q| gives a power-law prefactor); fit
        # where |U| is far above rounding
        d = np.arange(6, int(min(100, 24 * xi)))
        c0 = L // 2
        amp = np.maximum(np.abs(U[(d + c0) % L, c0]), np.abs(U[(c0 - d) % L, c0]))
        A = np.stack([np.ones_like(d, dtype=float), -d, -np.log(d)], axis=1)
        coef = np.linalg.lstsq(A, np.log(amp), rcond=None)[0]
        assert abs(1 / coef[1] - xi) < 0.02 * xi, (t, 1 / coef[1], xi)
    np.testing.assert_allclose(probes.ssh_xi(np.array([[0.5, 1.0], [2.0, 1.0]])), [1 / np.log(2)] * 2)
    assert probes.ssh_xi([1.0, 1.0]) == np.inf
    with pytest.raises(ValueError, match="`t`"):
        probes.ssh_xi([1.0, 2.0, 3.0])


def test_edge_potential_sweep_moves_edge_modes_and_keeps_the_winding():
    tnn.enable_x64()
    lat, H, y = _chains([0.3, 0.5, 0.4, 1.8], 20, dis=0.3, seed=1)  # three W = 1 chains, one W = 0
    assert y.tolist() == [1, 1, 1, 0]
    sw = probes.edge_potential_sweep(H, y, lat, ("edge_modes", "projector"), strengths=(0.0, 0.2, 0.5, 1.0))
    energies = []
    for mu, s in sw.items():
        # the bulk is untouched: the hoppings of the middle cells and the clean k-space label
        Hp = np.asarray(probes.edge_potential(H, lat, jnp.asarray([mu, -mu])))
        np.testing.assert_array_equal(Hp[:, 4:-4, 4:-4], np.asarray(H)[:, 4:-4, 4:-4])
        # the certified bulk winding (Q = sign(H) of the perturbed chain) is still the label
        np.testing.assert_allclose(s["winding"], y, atol=0.05)
        assert s["changed"] == 0 and s["index"].tolist() == [0, 1, 2, 3]
        assert s["x"]["edge_modes"].shape == (4, 40, 4) and s["x"]["projector"].shape == (4, 20, 20)
        energies.append(s["edge_energy"][:3])
    energies = np.asarray(energies)
    assert np.all(energies[0] < 1e-6)  # zero modes without the potential
    # they move with mu (first order: mu times their weight on the edge cell), until they meet the
    # bulk band (half gap about |w - v|), where level repulsion keeps them below it
    assert np.all(energies[2] > energies[1]) and np.all(energies[1:] > 0.1)
    assert np.all(sw[1.0]["zero_modes"] == 0) and np.all(sw[0.0]["zero_modes"][:3] == 2)


def test_disagreeing_set_counts_differ_from_the_winding():
    tnn.enable_x64()
    lat, H, y = _chains([0.3, 0.5, 1.6, 2.5], 24)
    d = probes.disagreeing_set(H, y, lat, ("hamiltonian", "edge_modes"), mu=1.0)
    assert d["index"].tolist() == [0, 1, 2, 3] and d["changed"] == 0
    np.testing.assert_array_equal(d["y"], y)
    assert d["kind"].tolist() == ["potential", "potential", "dangling", "dangling"]
    np.testing.assert_array_equal(d["zero_modes_before"], [2, 2, 0, 0])
    assert np.all(d["zero_modes_after"][:2] == 0) and np.all(d["zero_modes_after"][2:] >= 2)
    # the dangling sites keep chiral symmetry and the bulk winding (polar route, certified)
    Hd = probes.dangling_edges(H[2:], lat)
    # (on 24 cells: the new end modes at B_0 and A_{L-1} pair across the chain, a long-range part of
    # sign(H) that the certificate of 16 cells flags as delocalized for v/w = 1.6)
    np.testing.assert_allclose(probes.certified_winding(Hd, lat), 0.0, atol=0.05)


def test_masks_and_cuts_in_units_of_xi():
    tnn.enable_x64()
    lat, H, y = _chains([0.3, 0.7, 1.6], 24)
    xi = probes.ssh_xi(np.stack([[0.3, 0.7, 1.6], np.ones(3)], axis=1))
    feats = probes.input_features(H, lat, probes.INPUT_KINDS, ranges=(0, 1))
    ms = probes.mask_sweep(feats, y, lat, xi, fractions=(0.0, 1.0, 3.0))
    np.testing.assert_array_equal(ms[0.0]["x"]["hamiltonian"], feats["hamiltonian"])
    c = np.ceil(3.0 * xi).astype(int)  # xi = 0.83, 2.80, 2.13 -> 3, 9, 7 cells
    np.testing.assert_array_equal(ms[3.0]["cells"], np.minimum(c, 8))
    for i, ci in enumerate(ms[3.0]["cells"]):
        m = ms[3.0]["x"]
        assert np.all(m["edge_modes"][i, : 2 * ci] == 0) and np.all(m["density"][i, -2 * ci :] == 0)
        assert np.all(m["projector"][i, :ci] == 0) and np.all(m["projector"][i, :, -ci:] == 0)
        assert np.all(m["hoppings"][i, :, :ci] == 0)
        inner = slice(2 * ci, 48 - 2 * ci)
        np.testing.assert_array_equal(m["hamiltonian"][i, inner, inner], feats["hamiltonian"][i, inner, inner])
        np.testing.assert_array_equal(m["energies"][i], feats["energies"][i])
    cs = probes.cut_sweep(H, y, lat, xi, ("edge_modes", "hamiltonian"), fractions=(1.0,))[1.0]
    assert cs["changed"] == 0 and sorted(cs["index"].tolist()) == [0, 1, 2]
    for g in cs["groups"]:
        cut = (24 - g["lat"].n_cells) // 2
        assert all(int(np.ceil(xi[i])) == cut for i in g["index"])
        inner = np.asarray(H)[g["index"]][:, 2 * cut : 48 - 2 * cut, 2 * cut : 48 - 2 * cut]
        np.testing.assert_array_equal(g["x"]["hamiltonian"], inner)
        ref = probes.input_features(inner, g["lat"], ("edge_modes",))["edge_modes"]
        np.testing.assert_allclose(g["x"]["edge_modes"], ref, atol=1e-12)
        np.testing.assert_array_equal(g["y"], y[g["index"]])
    # widths rounded up to a multiple of `step` (3, 9, 7 cells at f = 3 -> 4, 12 -> cap 8, 8): at least
    # f * xi cells, and fewer distinct cut lengths
    cells, capped = probes.xi_cells(xi, 3.0, lat, step=4)
    np.testing.assert_array_equal(cells, [4, 8, 8])
    np.testing.assert_array_equal(capped, [False, True, False])
    stepped = probes.cut_sweep(H, y, lat, xi, ("hamiltonian",), fractions=(3.0,), step=4)[3.0]
    assert sorted(g["lat"].n_cells for g in stepped["groups"]) == [8, 16]
    with pytest.raises(ValueError, match="`step`"):
        probes.xi_cells(xi, 1.0, lat, step=0)
    with pytest.raises(ValueError, match="`xi`"):
        probes.mask_sweep(feats, y, lat, np.zeros(3))


def test_paired_comparison_against_scipy():
    from scipy.stats import binomtest

    base = np.ones(300, bool)
    probe = base.copy()
    probe[:90] = False  # a drop of 0.3
    r = probes.paired_comparison(base, probe, threshold=0.1)
    assert r["drop"] == pytest.approx(0.3) and (r["b"], r["c"]) == (90, 0)
    assert r["p_mcnemar"] == pytest.approx(binomtest(90, 90, 0.5).pvalue)
    assert r["lo"] > 0.1 and r["verdict"] == "supported"
    same = probes.paired_comparison(base, base, threshold=0.1)
    assert same["drop"] == 0 and same["verdict"] == "contradicted" and same["p_mcnemar"] == 1.0
    # few samples: the interval holds the threshold
    assert probes.paired_comparison(base[:10], probe[:10] | (np.arange(10) > 0), threshold=0.1)["verdict"] == "inconclusive"
    assert probes.paired_comparison(base[:0], probe[:0])["verdict"] == "inconclusive"
    with pytest.raises(ValueError, match="`correct_base`"):
        probes.paired_comparison(base, probe[:10])


@pytest.mark.slow
def test_probe_table_runs_every_probe():
    tnn.enable_x64()
    lat, H, y = _chains([0.3, 0.5, 1.6, 2.5, 0.4, 1.9], 16)
    xi = probes.ssh_xi(np.stack([[0.3, 0.5, 1.6, 2.5, 0.4, 1.9], np.ones(6)], axis=1))
    cfg = ModelConfig("cnn", input="edge_modes", width=3, depth=1)
    model = make_model(cfg, lat)
    x = probes.input_features(H, lat, ("edge_modes",))
    params = model.init(jax.random.key(0), model.prepare(x))
    t = probes.probe_table(cfg, [params], {"H": H, "y": y, "xi": xi, "lat": lat}, fractions=(0.0, 1.0),
                           strengths=(0.0, 1.0))
    kinds = [(r["probe"], r["param"]) for r in t["rows"]]
    assert kinds == [("mask", 0.0), ("mask", 1.0), ("cut", 0.0), ("cut", 1.0), ("edge_potential", 0.0),
                     ("edge_potential", 1.0), ("disagreeing", 1.0)]
    # width 0 and strength 0 are the unprobed set itself: no drop
    for r in t["rows"]:
        if r["param"] == 0.0:
            assert r["drop"] == 0 and r["b"] == r["c"] == 0
    assert t["verdict"] in ("supported", "contradicted", "inconclusive") and t["input"] == "edge_modes"
    assert set(t["seconds"]) == {"inputs", "mask", "cut", "edge_potential", "disagreeing"}


def test_params_fit_by_shapes():
    # size-agnostic models fit every chain length, the MLP only its own; topo's eager init included
    tnn.enable_x64()
    lat16, H16, _ = _chains([0.3, 1.6], 16)
    lat24, H24, _ = _chains([0.3, 1.6], 24)
    for cfg, fits24 in ((ModelConfig("cnn", width=3, depth=1), True), (ModelConfig("mlp", width=3, depth=1), False),
                        (ModelConfig("topo", channels=1), True)):
        feats = {16: probes.input_features(H16, lat16, ("hamiltonian", "wavefunctions", "energies")),
                 24: probes.input_features(H24, lat24, ("hamiltonian", "wavefunctions", "energies"))}
        x = {L: ({"eigenvectors": f["wavefunctions"], "energies": f["energies"]} if cfg.name == "topo"
                 else {"hamiltonian": f["hamiltonian"]}) for L, f in feats.items()}
        m16, m24 = make_model(cfg, lat16), make_model(cfg, lat24)
        p16 = m16.init(jax.random.key(0), m16.prepare(x[16]))
        assert probes.params_fit(m16, p16, x[16])
        assert probes.params_fit(m24, p16, x[24]) == fits24, cfg.name
