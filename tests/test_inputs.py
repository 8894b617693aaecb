"""Inputs matched to the claims (issue 19, item 2): density, edge_modes and projector features, their
encodings, and every baseline reading every input.

Math checked here:
* |psi_n(i)|^2 (cluster-averaged over degenerate states) and sign(H) are functions of the
  eigenspaces: unchanged by random phases of the eigenvectors and by a random unitary inside a
  degenerate pair (the exact zero-mode pair of an open topological chain; the E(k) = E(-k) pairs of
  a periodic chain), and the same on the eigh and the chiral SVD route.
* Open SSH chain with v/w = 0.1 deep in the W = 1 phase: the zero modes are psi_A(n) ~ (-v/w)^n on the
  left and its mirror on B at the right, so the cluster-averaged weight on A_0 (and on B_{L-1}) is
  (1 - (v/w)^2) / 2 up to (v/w)^(2L).
* The chain's projector feature U = P_A sign(H) P_B equals the unitary polar factor of the chiral
  block h = H[A, B] (one SVD, an independent route; Mondragon-Shem et al. PRL 113, 046802).
"""

import dataclasses

import numpy as np
import pytest
import jax
import jax.numpy as jnp

import tnn
from tnn import data, hamiltonians, invariants, lattice
from tnn.data import features as ft
from tnn.models import ModelConfig, inputs, make_model

BASELINES = ("mlp", "cnn", "resnet", "symmetric")
BASELINE_INPUTS = ("hamiltonian", "projector", "density", "edge_modes", "hoppings")


def chain_H(v, w, L, pbc=False, bond_disorder=0.0, seed=0):
    lat = lattice.chain(L, pbc=pbc)
    key = jax.random.key(seed) if bond_disorder else None
    return lat, hamiltonians.ssh(jnp.asarray([v, w]), lat, bond_disorder=bond_disorder, key=key)


def all_features(E, V, chain=True):
    return ft.eigen_features(ft.EIGEN_FEATURES, E, V, chain)


def random_gauge(E, V, rng, tol=1e-9):
    """Random phases on every eigenvector and a random unitary inside every degenerate cluster."""
    V = np.array(V, dtype=complex)
    E = np.asarray(E)
    N = len(E)
    V = V * np.exp(2j * np.pi * rng.uniform(size=N))[None, :]
    start = 0
    rotated = 0
    for n in range(1, N + 1):
        if n == N or E[n] - E[n - 1] > tol * np.abs(E).max():
            d = n - start
            if d > 1:
                Z = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
                Q, _ = np.linalg.qr(Z)
                V[:, start:n] = V[:, start:n] @ Q
                rotated += 1
            start = n
    return V, rotated


# ------------------------------------------------------------------------------------ features
def test_features_gauge_invariant_open_topological_chain():
    tnn.enable_x64()
    rng = np.random.default_rng(0)
    lat, H = chain_H(0.1, 1.0, 16)  # zero modes split by (v/w)^16 = 1e-16: exactly degenerate
    E, V = np.linalg.eigh(np.asarray(H))
    assert np.sort(np.abs(E))[1] < 1e-14
    ref = all_features(jnp.asarray(E), jnp.asarray(V))
    V2, rotated = random_gauge(E, V, rng)
    assert rotated == 1  # the zero-mode pair
    # the raw |psi_n|^2 of the pair does change under the rotation: the test is not vacuous
    raw = np.abs(V) ** 2
    raw2 = np.abs(V2) ** 2
    assert np.max(np.abs(raw[:, 15:17] - raw2[:, 15:17])) > 1e-3
    got = all_features(jnp.asarray(E), jnp.asarray(V2))
    for k in ft.EIGEN_FEATURES:
        np.testing.assert_allclose(np.asarray(got[k]), np.asarray(ref[k]), atol=1e-12, err_msg=k)
    # the chiral SVD route: another basis of the pair and other signs, the same features
    E3, V3 = data.chiral_eigh(H[0::2, 1::2])
    np.testing.assert_allclose(np.asarray(E3), E, atol=1e-12)
    got3 = all_features(E3, V3)
    for k in ft.EIGEN_FEATURES:
        np.testing.assert_allclose(np.asarray(got3[k]), np.asarray(ref[k]), atol=1e-12, err_msg=k)
    # closed form of the zero modes: weight (1 - (v/w)^2) / 2 on A_0 and on B_{L-1}
    em = np.asarray(ref["edge_modes"])
    assert em.shape == (32, ft.EDGE_MODES_K)
    np.testing.assert_allclose(em[[0, 31], 0], 0.5 * (1 - 0.01), atol=1e-12)
    np.testing.assert_allclose(em[:, 0], em[:, 1], atol=1e-14)
    # every column is a density; the columns of E = -e and +e (chiral partners) are equal
    np.testing.assert_allclose(em.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(em[:, 2], em[:, 3], atol=1e-10)


def test_features_gauge_invariant_degenerate_periodic_and_complex():
    tnn.enable_x64()
    rng = np.random.default_rng(1)
    lat, H = chain_H(0.6, 1.0, 10, pbc=True)  # E(k) = E(-k): doubly degenerate levels
    E, V = np.linalg.eigh(np.asarray(H))
    V2, rotated = random_gauge(E, V, rng)
    assert rotated >= 6
    for k, a in all_features(jnp.asarray(E), jnp.asarray(V2)).items():
        np.testing.assert_allclose(np.asarray(a), np.asarray(all_features(jnp.asarray(E), jnp.asarray(V))[k]),
                                   atol=1e-12, err_msg=k)
    # a periodic clean chain: every cluster-averaged density is uniform over the cells (1 / N per site)
    np.testing.assert_allclose(np.asarray(ft.state_density(jnp.asarray(E), jnp.asarray(V))), 1 / 20, atol=1e-12)
    sq = lattice.square(4, 4, pbc=True)
    Hq = np.asarray(hamiltonians.qwz(-1.0, sq))
    Eq, Vq = np.linalg.eigh(Hq)
    Vq2, rotated = random_gauge(Eq, Vq, rng)
    assert rotated >= 2
    a = all_features(jnp.asarray(Eq), jnp.asarray(Vq), chain=False)
    b = all_features(jnp.asarray(Eq), jnp.asarray(Vq2), chain=False)
    for k in ft.EIGEN_FEATURES:
        np.testing.assert_allclose(np.asarray(b[k]), np.asarray(a[k]), atol=1e-11, err_msg=k)
    # 2D projector Q = sign(H): Hermitian, Q^2 = 1 (no zero mode), Q commutes with H
    Q = np.asarray(a["projector"])
    np.testing.assert_allclose(Q @ Q, np.eye(32), atol=1e-10)
    np.testing.assert_allclose(Q @ Hq, Hq @ Q, atol=1e-10)


def test_edge_mode_order_and_projector_reference():
    tnn.enable_x64()
    # ties in |E| go to the negative energy first, whatever the rounding of the +-E pair
    E = jnp.asarray([-2.0, -1.0 - 1e-13, -0.5, 0.5 + 1e-13, 1.0, 2.0])
    np.testing.assert_array_equal(np.asarray(ft.edge_mode_order(E)), [2, 3, 1, 4, 0, 5])
    with pytest.raises(ValueError, match="`k`"):
        ft.edge_modes(E, jnp.eye(6), k=7)
    # U = P_A sign(H) P_B is the polar factor of the chiral block (chains without exact zero modes),
    # and its winding kernel gives the real-space winding number
    for v, w, dis in ((1.0, 0.4, 0.0), (0.45, 1.0, 0.0), (0.5, 1.0, 0.8)):
        lat, H = chain_H(v, w, 24, bond_disorder=dis, seed=4)
        E, V = jnp.linalg.eigh(H)
        U = np.asarray(ft.sign_projector(E, V, chain_block=True))
        ref = np.asarray(invariants.polar_factor(H[0::2, 1::2]))
        np.testing.assert_allclose(U, ref, atol=1e-10)
    # the exact zero-mode pair drops out of sign(H) (sign(0) = 0), as in tnn.invariants
    lat, H = chain_H(0.1, 1.0, 16)
    E, V = jnp.linalg.eigh(H)
    Q = np.asarray(ft.sign_projector(E, V, chain_block=False))
    np.testing.assert_allclose(np.linalg.eigvalsh(Q), np.r_[-np.ones(15), 0, 0, np.ones(15)], atol=1e-10)


@pytest.mark.slow
def test_hoppings_from_hamiltonian_matches_the_dataset():
    tnn.enable_x64()
    spec = dataclasses.replace(data.preset("ssh", n=4, seed=3), size=(8,), features=("hoppings", "hamiltonian",
                                                                                        "edge_modes", "density"),
                               chunk_size=4, shard_size=4)
    out = data.compute_samples(spec, 0, 4)
    lat = spec.lattice()
    for i in range(4):
        np.testing.assert_allclose(np.asarray(ft.hoppings_from_hamiltonian(jnp.asarray(out["hamiltonian"][i]), lat,
                                                                           spec.ranges)), out["hoppings"][i])
        # the dataset's density and edge_modes (chiral SVD route) = the eigh route of the stored H
        E, V = np.linalg.eigh(out["hamiltonian"][i])
        f = all_features(jnp.asarray(E), jnp.asarray(V))
        np.testing.assert_allclose(out["energies"][i], E, atol=1e-12)
        np.testing.assert_allclose(out["density"][i], np.asarray(f["density"]), atol=1e-10)
        np.testing.assert_allclose(out["edge_modes"][i], np.asarray(f["edge_modes"]), atol=1e-10)
    assert out["edge_modes"].shape == (4, 16, ft.EDGE_MODES_K) and out["edge_modes"].dtype == np.float64
    assert "edge_modes" in data.FEATURES and set(data.FEATURES["edge_modes"]) == set(data.MODELS)


# ------------------------------------------------------------------------------------ encodings
def chain_features(L, ratios, pbc=False):
    lat = lattice.chain(L, pbc=pbc)
    H = jnp.stack([chain_H(r, 1.0, L, pbc=pbc)[1] for r in ratios])
    E, V = jax.vmap(jnp.linalg.eigh)(H)
    f = jax.vmap(lambda e, v: all_features(e, v))(E, V)
    hop = jax.vmap(lambda h: ft.hoppings_from_hamiltonian(h, lat, (0, 1)))(H)
    return lat, {"hamiltonian": H, "hoppings": hop, **f}


def test_encoding_shapes_on_a_known_chain():
    tnn.enable_x64()
    lat, f = chain_features(8, [0.3, 2.0])
    N, k = 16, ft.EDGE_MODES_K
    want = {
        ("hamiltonian", "cells"): (2, 8, 3 * 8), ("hamiltonian", "chiral"): (2, 8, 6), ("hamiltonian", "flat"): (2, N * N * 2),
        ("projector", "cells"): (2, 8, 3 * 8), ("projector", "chiral"): (2, 8, 6), ("projector", "flat"): (2, N * N * 2),
        ("density", "cells"): (2, 8, 2 * N), ("density", "flat"): (2, N * N),
        ("edge_modes", "cells"): (2, 8, 2 * k), ("edge_modes", "flat"): (2, N * k),
        ("hoppings", "cells"): (2, 8, 4), ("hoppings", "flat"): (2, 4 * 8),
    }
    for (src, enc), shape in want.items():
        x = make_model(ModelConfig("cnn", input=src, encoding=enc, radius=1), lat).prepare(f)
        assert x.shape == shape, (src, enc, x.shape)
    # the projector's chiral encoding reads t_r(n) = U[n + r, n]; edge_modes cells: channel o * k + n
    x = np.asarray(make_model(ModelConfig("cnn", input="projector", encoding="chiral", radius=1), lat).prepare(f))
    np.testing.assert_array_equal(x.reshape(2, 8, 3, 2)[:, 3, 2, 0], np.asarray(f["projector"])[:, 4, 3])
    x = np.asarray(make_model(ModelConfig("cnn", input="edge_modes"), lat).prepare(f))
    np.testing.assert_array_equal(x[:, 5, k + 2], np.asarray(f["edge_modes"])[:, 11, 2])  # B_5, third state
    # edge_modes with cells is size-agnostic: the same channels on 12 cells
    lat12, f12 = chain_features(12, [0.3])
    assert make_model(ModelConfig("cnn", input="edge_modes"), lat12).prepare(f12).shape == (1, 12, 2 * k)
    with pytest.raises(ValueError, match="`encoding`"):
        make_model(ModelConfig("cnn", input="edge_modes", encoding="chiral"), lat)
    with pytest.raises(ValueError, match="`input`"):
        make_model(ModelConfig("symmetric", input="hoppings"), lat)
    with pytest.raises(ValueError, match="`input`"):
        make_model(ModelConfig("cnn", input="wavefunctions"), lat)


#: the encodings each baseline reads a matrix input with (a CNN needs spatial axes: no ``flat``)
MATRIX_ENCODINGS = {"mlp": ("cells", "chiral", "flat"), "cnn": ("cells", "chiral"), "resnet": ("cells", "chiral"),
                    "symmetric": ("cells", "chiral")}


@pytest.mark.parametrize("name", [n if n == "mlp" else pytest.param(n, marks=pytest.mark.slow) for n in BASELINES])
def test_every_baseline_reads_every_input(name):
    """init and apply on every input (its ``auto`` encoding), and on the projector with each of the
    model's encodings."""
    tnn.enable_x64()
    lat, f = chain_features(6, [0.3, 0.7, 1.6])
    combos = [(src, "auto") for src in BASELINE_INPUTS if not (name == "symmetric" and src == "hoppings")]
    combos += [("projector", enc) for enc in MATRIX_ENCODINGS[name]
               if enc != ModelConfig(name, input="projector").resolved_encoding(lat)]
    for src, enc in combos:
        m = make_model(ModelConfig(name, input=src, encoding=enc, width=3, depth=1, radius=1), lat)
        x = m.prepare(f)
        out = m.apply(m.init(jax.random.key(0), x), x)
        assert out.shape == (3, 2) and bool(jnp.all(jnp.isfinite(out))), (src, enc)
    if name == "symmetric":
        assert ModelConfig(name, input="edge_modes").resolved_encoding(lat) == "cells"
        assert ModelConfig(name, input="projector").resolved_encoding(lat) == "chiral"
        with pytest.raises(ValueError, match="`encoding`"):
            make_model(ModelConfig(name, input="density", encoding="flat"), lat)


@pytest.mark.slow
def test_symmetric_net_on_site_arrays_is_odd_under_the_mirror():
    """f(mirror x) = -f(x) for random parameters; and the physics behind the character: the
    edge_modes of the mirrored chain are the mirrored edge_modes, and W(mirror H) = -W(H)."""
    tnn.enable_x64()
    L = 10
    lat, H = chain_H(0.5, 1.0, L, bond_disorder=0.6, seed=2)
    p = 2 * (L - 1 - np.arange(2 * L) // 2) + np.arange(2 * L) % 2  # mirror n -> L-1-n, A stays A
    Hm = H[p[:, None], p[None, :]]

    def feats(h):
        E, V = jnp.linalg.eigh(h)
        return jax.tree.map(lambda a: a[None], all_features(E, V))

    m = make_model(ModelConfig("symmetric", input="edge_modes", task="regress", width=4, depth=1), lat)
    x, xm = m.prepare(feats(H)), m.prepare(feats(Hm))
    np.testing.assert_allclose(np.asarray(xm), np.asarray(inputs.reflect_sites(x)), atol=1e-10)
    params = m.init(jax.random.key(1), x)
    f0, f1 = float(m.apply(params, x)[0, 0]), float(m.apply(params, inputs.reflect_sites(x))[0, 0])
    assert abs(f0) > 1e-6 and abs(f1 + f0) < 1e-12
    w = lambda h: float(invariants.winding_number(h, lat, validity="raw"))  # noqa: E731
    assert abs(w(Hm) + w(H)) < 1e-8
    # the 2D group on site arrays is translations only: |psi|^2 of H* equals that of H (C -> -C)
    sq = lattice.square(3, 3, pbc=True)
    Hq = hamiltonians.qwz(-1.0, sq, onsite_disorder=1.0, key=jax.random.key(0))
    a, b = feats(Hq), feats(jnp.conj(Hq))
    np.testing.assert_allclose(np.asarray(a["density"]), np.asarray(b["density"]), atol=1e-10)
