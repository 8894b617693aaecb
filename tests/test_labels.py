r"""Exact dataset labels (``label="exact"``, :mod:`tnn.data.exact`; issue 19, item 1).

What must hold, each against an independent reference:

* clean samples of every system are labelled by k space: SSH against the exact root count of
  :func:`tnn.kspace.winding_number`, QWZ, Haldane and Kitaev against their closed-form phase
  diagrams (``docs/conventions.md``); the chain's ``xi`` is ``1 / min|ln|z||`` over the roots of
  ``q(z)`` (``np.roots``), ``1 / |ln|v/w||`` for nearest-neighbour SSH;
* disordered chiral chains are labelled by the zero-energy Lyapunov winding of the ensemble: for
  nearest-neighbour SSH with bond disorder the exponent has a closed form
  (:func:`tnn.validity.ssh_bond_lyapunov`), which the label's exponent matches within its
  statistical error; for the multi-range ``ssh-bond`` and ``kitaev-mu`` presets the label equals
  the real-space winding number of long periodic chains of the same distribution away from the
  transition (``xi`` well below the chain); the jittable scan equals the NumPy transfer-matrix
  product on the same chain;
* clean 2D ``xi`` (complex-momentum branch points) is the decay length of the Fermi projector:
  the decay of ``|P(R, R + n a_1)|`` of the infinite system (a fine k grid) and of one real-space
  sample;
* the same PRNG index gives the same parameters and the same exact labels at two sizes
  (``index_offset``), and specs without the new fields keep their digests.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tnn import data, hamiltonians, invariants, kspace, lattice, systems, validity
from tnn.data import exact

SMALL = dict(n=36, shard_size=36, chunk_size=12, seed=11, features=("density",), balance=False, classes=None)


def _clean(name, **kw):
    return data.preset(name, **{**SMALL, "disorder": "none", "strength": data.fixed("W", 0.0), **kw})


def _chain_xi(t, ranges):
    """1 / min |ln|z|| over the roots of sum_r t_r z^(r - min r), by np.roots."""
    rmin = min(ranges)
    c = np.zeros(max(ranges) - rmin + 1)
    for ti, r in zip(t, ranges):
        c[r - rmin] += ti
    return 1.0 / np.min(np.abs(np.log(np.abs(np.roots(c[::-1])))))


# ----------------------------------------------------------------------------- clean: k space
@pytest.mark.parametrize("name, size", [("ssh", 12), ("kitaev", 12), ("qwz", 6), ("haldane", 6)])
def test_clean_exact_labels_equal_kspace(name, size):
    spec = _clean(name, size=size)
    assert spec.label == "exact"  # the presets' default
    d = data.compute_samples(spec, 0, spec.n)
    assert np.all(d["label_source"] == exact.SOURCE_KSPACE) and not d["ill_defined"].any()
    for s in range(spec.n):
        p = d["params"][s]
        if name == "ssh":
            want = kspace.winding_number(p, spec.ranges)  # exact root count
            assert d["xi"][s] == pytest.approx(_chain_xi(p, spec.ranges), rel=1e-8)
        elif name == "kitaev":
            mu, t, delta = p
            want = int(np.sign(delta * t)) if abs(mu) < 2 * abs(t) else 0
            assert d["xi"][s] == pytest.approx(_chain_xi((t - delta, mu, t + delta), (-1, 0, 1)), rel=1e-8)
        elif name == "qwz":
            (m,) = p
            want = 0 if abs(m) > 2 else (1 if m < 0 else -1)
        else:
            t1, t2, phi, M = p
            want = -int(np.sign(t2 * np.sin(phi))) if abs(M) < 3 * np.sqrt(3) * abs(t2 * np.sin(phi)) else 0
        assert d["label"][s] == want, (name, s, p)
    assert np.all(np.isfinite(d["xi"])) and np.all(d["xi"] > 0)
    if systems.get(spec.model).invariant == "winding":
        np.testing.assert_allclose(d["transition_distance"], 1.0 / d["xi"], rtol=1e-12)
    else:
        np.testing.assert_array_equal(d["transition_distance"], d["kspace_gap"])
    assert len({int(c) for c in d["label"]}) >= 3  # both phases (and both signs) were drawn


def test_xi_of_clean_nearest_neighbour_ssh():
    spec = _clean("ssh", size=10, ranges=(0, 1), params=(data.uniform("t[0]", -1.5, 1.5), data.uniform("t[1]", -1.5, 1.5)))
    d = data.compute_samples(spec, 0, spec.n)
    v, w = d["params"].T
    np.testing.assert_allclose(d["xi"], 1.0 / np.abs(np.log(np.abs(v / w))), rtol=1e-10)
    np.testing.assert_array_equal(d["label"], (np.abs(w) > np.abs(v)).astype(np.int32))


# ----------------------------------------------------------------------------- disordered chains
def test_lyapunov_label_matches_the_closed_form_of_nearest_neighbour_ssh():
    """Bond disorder of width W on both bonds: gamma = E ln|v + W u| - E ln|w + W u|."""
    spec = data.preset("ssh-bond", size=10, ranges=(0, 1), n=48, shard_size=48, chunk_size=16, seed=2,
                       params=(data.uniform("t[0]", -1.2, 1.2), data.uniform("t[1]", -1.2, 1.2)),
                       strength=data.choice("W", 0.0, 1.0, 2.0), balance=False, classes=None, features=("density",))
    d = data.compute_samples(spec, 0, spec.n)
    v, w = d["params"].T
    W = d["strength"]
    dis = W > 0
    assert 10 < dis.sum() < spec.n
    # W = 0 draws are clean: k space.
    assert np.all(d["label_source"][~dis] == exact.SOURCE_KSPACE)
    g = validity.ssh_bond_lyapunov(v[dis], w[dis], W[dis])
    err = d["transition_error"][dis]
    assert np.all((err > 0) & (err < 0.05))  # 10^4 cells: ~1 / sqrt(10^4) here (bonds reach 0 at W = 2)
    z = (d["transition_distance"][dis] - np.abs(g)) / err
    assert np.all(np.abs(z) < 5) and 0.4 < np.std(z) < 1.8  # the error estimate is the error (measured std 0.97)
    np.testing.assert_allclose(d["xi"][dis], 1.0 / d["transition_distance"][dis], rtol=1e-12)
    sure = np.abs(g) > 5 * err
    assert sure.sum() > 10
    np.testing.assert_array_equal(d["label"][dis][sure], (g[sure] < 0).astype(np.int32))
    np.testing.assert_array_equal(d["label_source"][dis][sure], exact.SOURCE_LYAPUNOV)
    # Flagged at the transition exactly when the exponent is within 3 errors of 0.
    crit = d["transition_distance"] <= exact.LYAPUNOV_SIGMAS * d["transition_error"]
    np.testing.assert_array_equal(d["ill_defined"][dis], crit[dis])
    np.testing.assert_array_equal(d["label_reason"][dis & crit], 3)


@pytest.mark.parametrize("name", ["ssh-bond", pytest.param("kitaev-mu", marks=pytest.mark.slow)])
def test_lyapunov_label_is_the_winding_of_long_chains(name):
    """Away from the transition, the label is the real-space winding of long periodic chains of the
    same distribution (other disorder realizations)."""
    spec = data.preset(name, size=10, n=24, shard_size=24, chunk_size=12, seed=7, balance=False, classes=None,
                       features=("density",))
    d = data.compute_samples(spec, 0, spec.n)
    L = 300
    lat = lattice.chain(L, pbc=True)
    system = systems.get(spec.model)

    @jax.jit
    def winding(theta, W, key):
        H = hamiltonians.assemble(system.dataset_terms(theta, lat, spec.ranges, spec.disorder, W, key))
        return invariants.winding_number(H, lat, validity="raw")

    far = (d["transition_distance"] > 5 * d["transition_error"]) & (d["xi"] < L / 10)
    assert far.sum() >= 12 and np.all(d["label_source"][far] == exact.SOURCE_LYAPUNOV)
    keys = jax.random.split(jax.random.key(1000), spec.n)[far]  # only the samples the check reads
    ws = np.asarray(jax.lax.map(lambda a: winding(*a), (jnp.asarray(d["params"][far]), jnp.asarray(d["strength"][far]),
                                                         keys)))
    np.testing.assert_array_equal(np.rint(ws), d["label"][far])


def test_lyapunov_scan_equals_the_transfer_matrix_product():
    """The jittable, block-parallel scan against tnn.validity.zero_energy_lyapunov (sequential QR)
    on one periodic chain: equal within the statistical error; the error shrinks as 1/sqrt(n)."""
    ranges = (-1, 0, 1, 2)
    L = 2000
    lat = lattice.chain(L, pbc=True)
    H = hamiltonians.ssh(jnp.array([0.3, -0.5, 0.8, 0.4]), lat, ranges, bond_disorder=1.0, key=jax.random.key(0))
    h = np.asarray(invariants.chiral_block(H, lat))
    cols = np.stack([h[(np.arange(L) + r) % L, np.arange(L)] for r in ranges], axis=-1)
    ref = validity.zero_energy_lyapunov(h, ranges, pbc=True)
    scan = jax.jit(validity.lyapunov_scan, static_argnums=1)
    g, err = scan(cols, ranges)
    assert np.all(np.abs(np.asarray(g) - ref) < 2 * np.asarray(err) + 1e-3), (g, ref, err)
    # Longer chains of the same distribution: the error falls as 1/sqrt(n), the exponents stay.
    t = np.array([0.3, -0.5, 0.8, 0.4])
    long = t + np.random.default_rng(1).uniform(-0.5, 0.5, (32000, 4))
    g2, err2 = scan(long, ranges)
    ratio = np.asarray(err) / np.asarray(err2)
    assert np.all((ratio > 2.0) & (ratio < 6.5)), ratio  # sqrt(16) = 4 up to the noise of the error estimate
    assert np.all(np.abs(np.asarray(g2) - ref) < 3 * np.asarray(err)), (g2, ref, err)
    with pytest.raises(ValueError, match="`columns`"):
        validity.lyapunov_scan(np.ones((10, 2)), (0, 1))


# ----------------------------------------------------------------------------- 2D xi
@pytest.mark.slow  # 10 s; the 1D xi: test_probes.py::test_ssh_xi_is_the_decay_length_of_sign_h
def test_clean_2d_xi_is_the_decay_length_of_the_fermi_projector():
    qwz = systems.get("qwz")
    m = -1.6
    kappa = np.asarray(exact.bloch_decay_rates(lambda k: qwz.bloch({"m": jnp.asarray(m)}, k, ()), qwz.reciprocal))
    # QWZ is symmetric under x <-> y; along a_1 the nearest branch point is at |z| = |m + 1| (ky = 0).
    assert kappa[0] == pytest.approx(kappa[1], rel=1e-10)
    # The infinite system: P(n a_1) from a 512 x 512 k grid; P ~ exp(-kappa n) / n^alpha.
    nk = 512
    ks = 2 * np.pi * np.arange(nk) / nk
    kx, ky = np.meshgrid(ks, ks, indexing="ij")
    dx, dy, dz = np.sin(kx), np.sin(ky), m + np.cos(kx) + np.cos(ky)
    dn = np.sqrt(dx**2 + dy**2 + dz**2)
    P = 0.5 * np.stack([[1 - dz / dn, -(dx - 1j * dy) / dn], [-(dx + 1j * dy) / dn, 1 + dz / dn]])
    Pr = np.fft.ifft2(P, axes=(-2, -1))[..., :, 0]  # (2, 2, nk): R = (n, 0)
    amp = np.sqrt(np.sum(np.abs(Pr) ** 2, axis=(0, 1)))
    R = np.arange(10, 41)
    fit = np.linalg.lstsq(np.stack([np.ones(len(R)), -R, -np.log(R)], 1), np.log(amp[R]), rcond=None)[0]
    assert fit[1] == pytest.approx(kappa[0], rel=0.02)
    # One real-space sample (periodic 24 x 24): the same decay, to the wrap-around and the prefactor.
    lat = lattice.square(24, 24, pbc=True)
    E, V = np.linalg.eigh(np.asarray(hamiltonians.qwz(m, lat)))
    Wocc = V[:, : len(E) // 2]
    amp_r = np.array([np.linalg.norm(Wocc[:2] @ Wocc[2 * 24 * n: 2 * 24 * n + 2].conj().T) for n in range(12)])
    R = np.arange(2, 10)
    fit_r = np.linalg.lstsq(np.stack([np.ones(len(R)), -R, -np.log(R)], 1), np.log(amp_r[R]), rcond=None)[0]
    assert fit_r[1] == pytest.approx(kappa[0], rel=0.1)
    # Stored: xi = 1 / min(kappa), inf at a transition.
    spec = _clean("qwz", size=6, params=(data.choice("m", -1.6, -2.0),), n=12, chunk_size=12, shard_size=12)
    d = data.compute_samples(spec, 0, spec.n)
    m_s = d["params"][:, 0]
    np.testing.assert_allclose(d["xi"][m_s == -1.6], 1.0 / kappa[0], rtol=1e-8)
    gapless = m_s == -2.0
    assert gapless.any() and np.all(d["ill_defined"][gapless]) and np.all(d["label_source"][gapless] == -1)
    assert np.all(d["xi"][gapless] > 1e4)  # a double root on the unit circle: found to ~sqrt(eps)


def test_disordered_2d_labels_are_certified_real_space_values():
    spec = data.preset("qwz", size=8, n=12, shard_size=12, chunk_size=12, seed=3, strength=data.fixed("W", 1.0),
                       features=("density",))
    d = data.compute_samples(spec, 0, spec.n)
    ok = d["reason"] == 0
    assert ok.any()
    np.testing.assert_array_equal(d["label"][ok], np.rint(d["invariant"][ok]).astype(np.int32))
    np.testing.assert_array_equal(d["label_source"], np.where(ok, exact.SOURCE_REALSPACE, exact.SOURCE_NONE))
    np.testing.assert_array_equal(d["ill_defined"], ~ok)
    assert np.all(np.isnan(d["xi"])) and np.array_equal(d["transition_distance"], d["kspace_gap"])


def test_symmetry_broken_chains_have_no_label():
    spec = data.preset("ssh-onsite", size=10, n=8, shard_size=8, chunk_size=8, seed=1, balance=False, classes=None,
                       features=("density",))
    d = data.compute_samples(spec, 0, spec.n)
    assert np.all(d["ill_defined"]) and np.all(d["label_source"] == -1) and np.all(d["label_reason"] == 2)
    assert np.all(np.isnan(d["xi"])) and np.array_equal(d["label"], d["kspace_class"])


@pytest.mark.slow
# ----------------------------------------------------------------------------- same draws at every size
def test_index_offset_gives_the_same_samples_at_another_size():
    # W = 0 draws are clean chains (k-space labels), W = 1 disordered ones (Lyapunov labels).
    for name in ("ssh-bond",):
        train = data.preset(name, size=12, n=32, shard_size=16, chunk_size=8, seed=4, features=("density",),
                            strength=data.choice("W", 0.0, 1.0), lyapunov_cells=2000, splits=(0.5, 0.0, 0.5))
        a, b = train.split_ranges()["test"]
        test = train.replace(size=(20,), n=b - a, index_offset=a, splits=(0.0, 0.0, 1.0))
        da = data.compute_samples(train, a, b)
        db = data.compute_samples(test, 0, test.n)
        assert set(da["label_source"]) >= {exact.SOURCE_KSPACE, exact.SOURCE_LYAPUNOV}
        for k in ("params", "strength", "index", "label", "label_source", "xi", "transition_distance", "kspace_class"):
            np.testing.assert_array_equal(da[k], db[k], err_msg=f"{name}: {k}")
        assert da["energies"].shape[1] == 24 and db["energies"].shape[1] == 40  # other size, same draws


def test_specs_without_the_new_fields_keep_their_digests():
    s = data.preset("ssh", n=64)
    d = s.to_dict()
    assert "index_offset" not in d and "lyapunov_cells" not in d  # defaults are left out
    back = data.DatasetSpec.from_dict(json.loads(json.dumps(d)))
    assert back.index_offset == 0 and back.lyapunov_cells == data.spec.LYAPUNOV_CELLS and back.digest() == s.digest()
    moved = s.replace(index_offset=5)
    assert moved.to_dict()["index_offset"] == 5 and moved.digest() != s.digest()
    assert data.DatasetSpec.from_dict(moved.to_dict()) == moved
    with pytest.raises(ValueError, match="`index_offset`"):
        s.replace(index_offset=-1)
    with pytest.raises(ValueError, match="`lyapunov_cells`"):
        s.replace(lyapunov_cells=10)


def test_datasets_written_before_the_exact_labels_still_load(tmp_path):
    """A manifest without the new spec fields and arrays (as earlier versions wrote it) keeps its
    digest (resume keeps its shards) and `tnn data info` reads it."""
    from tnn.data import store

    spec = data.preset("ssh", size=8, n=8, shard_size=8, chunk_size=8, seed=1, features=("density",))
    out = tmp_path / "old"
    data.generate(spec, out)
    m = store.read_manifest(out)
    assert "index_offset" not in m["spec"] and "lyapunov_cells" not in m["spec"]
    for k in ("label_source", "label_reason", "xi", "transition_distance", "transition_error"):
        del m["arrays"][k]
    store.write_manifest(out, m)
    info = data.dataset_info(out)
    assert "label_sources" not in info["splits"]["train"] and info["splits"]["train"]["n"] == 6
    assert data.generate(spec, out).report["kept"] == [0]
